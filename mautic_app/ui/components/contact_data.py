"""Plain-data helpers the contact pages share: a contact's name, a submitted id, a list of tags."""

from __future__ import annotations

from typing import Any


def display_name(row: dict[str, Any]) -> str:
    """The name a marketer recognises: first and last name, else e-mail, else an anonymous label."""
    name = " ".join(str(p).strip() for p in (row.get("firstname"), row.get("lastname")) if p and str(p).strip())
    return name or (row.get("email") or "") or f"Anonymous visitor #{row.get('id')}"


def parse_id(value: Any) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if n > 0 else None


def split_tags(text: str) -> list[str]:
    """Tags typed as ``a, b`` (or ``a|b``), each once, in order."""
    return list(dict.fromkeys(t.strip() for t in str(text or "").replace("|", ",").split(",") if t.strip()))
