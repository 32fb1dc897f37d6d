"""Mautic's list search syntax, parsed into terms. Turning terms into SQL is the service's job.

Examples: ``john``, ``email:john@``, ``tag:"vip customer"``, ``!is:anonymous``,
``company:acme owner:admin``, ``ids:1,2,3``, ``segment:newsletter``, ``import_id:7``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

COMMANDS = {"email", "tag", "company", "owner", "stage", "is", "ids", "name", "id", "segment", "list", "import_id"}
IS_VALUES = {"anonymous", "mine", "unowned", "identified"}
MAX_QUERY = 500


@dataclass(frozen=True)
class Term:
    command: str | None  # None for free text
    value: str
    negate: bool = False


class SearchError(ValueError):
    pass


def parse(query: str) -> list[Term]:
    query = (query or "").strip()[:MAX_QUERY]
    if not query:
        return []
    try:
        parts = shlex.split(query, posix=True)
    except ValueError:
        parts = query.replace('"', "").split()
    terms: list[Term] = []
    for part in parts:
        negate = False
        if part.startswith("!") and len(part) > 1:
            negate, part = True, part[1:]
        command, sep, value = part.partition(":")
        if sep and command.lower() in COMMANDS:
            command = command.lower()
            value = value.strip()
            if not value:
                continue
            if command == "is" and value.lower() not in IS_VALUES:
                raise SearchError(f"Unknown value for is: {value}. Use {', '.join(sorted(IS_VALUES))}.")
            if command in ("ids", "id"):
                ids = [v for v in value.split(",") if v.strip()]
                if not all(v.strip().isdigit() for v in ids):
                    raise SearchError("ids: takes numbers separated by commas.")
                terms.append(Term("ids", ",".join(v.strip() for v in ids), negate))
                continue
            if command == "import_id" and not value.isdigit():
                raise SearchError("import_id: takes an import's number.")
            if command == "list":  # Mautic's older name for segment:
                command = "segment"
            terms.append(Term(command, value.lower() if command == "is" else value, negate))
        else:
            terms.append(Term(None, part, negate))
    return terms


# What free text (a term without a command) looks in, as Mautic: names, e-mail, company and where the contact is.
FREE_TEXT_FIELDS = ("firstname", "lastname", "email", "company", "city", "state", "country")


def identified_unless_asked(query: str) -> str:
    """The contacts list's query: identified contacts only, as Mautic lists them, unless the query asks about
    anonymous visitors (``is:anonymous``, ``!is:identified``...) or names contacts by id or by import."""
    try:
        terms = parse(query)
    except SearchError:
        return query  # the list reports the mistake
    if any(t.command in ("ids", "import_id") or (t.command == "is" and t.value in ("anonymous", "identified")) for t in terms):
        return query
    return f"is:identified {query}".strip()


def like_escape(value: str) -> str:
    """Escape LIKE wildcards so user text matches literally (escape char is backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
