"""Reading what API clients send: JSON or form bodies (with PHP-style nested keys), query lists.

Real Mautic clients differ: some post JSON, others ``application/x-www-form-urlencoded`` with
keys like ``tags[]=a`` or ``contacts[0][email]=x``; some send ``Content-Type: application/json``
with an empty body on GET and DELETE. All of these must read as the same data.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.convertors import Convertor, register_url_convertor

from mautic_app.web.api.errors import ApiError

MAX_BODY = 10 * 1024 * 1024
MAX_BATCH = 200
MAX_INT = 2**31 - 1  # the widest integer every id and count column holds
_KEY_PART = re.compile(r"\[([^\]]*)\]")


def php_parse(pairs: list[tuple[str, Any]]) -> dict[str, Any] | list[Any]:
    """Nest ``a[b][]=c`` pairs the way PHP does; index-keyed maps become lists (the whole, too: ``0[a]=b``)."""
    parsed: dict[str, Any] | list[Any] = _listify(_nested(pairs))  # a map stays a map or becomes a list
    return parsed


def _nested(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + (_KEY_PART.findall("[" + rest) if rest else [])
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if part == "" or last:
                    node.append(value if last else {})
                    node = node[-1]
                    continue
                node.append({})
                node = node[-1]
            if last:
                node[part] = value
            else:
                nxt = parts[i + 1]
                if part not in node or not isinstance(node[part], (dict, list)):
                    node[part] = [] if nxt == "" else {}
                node = node[part]
    return root


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
        return value
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return value


async def _raw_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request) -> Any:
    """The request body as data: ``{}`` when empty, a dict or list otherwise (never raises a 500)."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        return php_parse([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    raw = await _raw_body(request)
    if not raw.strip():
        return {}
    looks_json = raw.lstrip()[:1] in (b"{", b"[")
    if "json" in content_type or (looks_json and "form-urlencoded" not in content_type):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
            raise ApiError(400, "The request body is not valid JSON.") from exc
        if not isinstance(data, (dict, list)):
            raise ApiError(400, "The request body must be a JSON object or array.")
        return data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "The request body is not valid UTF-8.") from exc
    return php_parse(parse_qsl(text, keep_blank_values=True))


def query_data(request: Request) -> dict[str, Any]:
    """The query string with PHP-style nesting (``ids[]=1``, ``filters[includeEvents][]=note``). Parameters
    are looked up by name, so the whole stays a map even when every name is an index (``?0=a``)."""
    return {k: _listify(v) for k, v in _nested(list(request.query_params.multi_items())).items()}


def require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be an object of field values.")
    return data


def batch_items(data: Any) -> list[Any]:
    """A batch body: a list (or index-keyed map) of at most MAX_BATCH items."""
    if isinstance(data, dict) and data and all(str(k).isdigit() for k in data):
        data = list(data.values())
    if not isinstance(data, list) or not data:
        raise ApiError(400, "Send a list of items.")
    if len(data) > MAX_BATCH:
        raise ApiError(400, f"A maximum of {MAX_BATCH} entities are supported for batch operations.")
    return data


def batch_ids(query: dict[str, Any], body: Any) -> list[Any]:
    """Ids for a batch delete: ``ids=1,2``, ``ids[]=1``, a JSON list, or ``{"ids": [...]}``."""
    raw = query.get("ids")
    if raw is None and isinstance(body, dict):
        raw = body.get("ids")
    if raw is None and isinstance(body, list):
        raw = body
    if isinstance(raw, str):
        raw = [p for p in raw.split(",") if p.strip()]
    if isinstance(raw, list):
        raw = [item.get("id") if isinstance(item, dict) else item for item in raw]
    if not raw:
        raise ApiError(400, "Give the ids to delete.", {"ids": ["Give the ids to delete."]})
    if len(raw) > MAX_BATCH:
        raise ApiError(400, f"A maximum of {MAX_BATCH} entities are supported for batch operations.")
    return raw


def flag(value: Any) -> bool:
    """PHP-ish truthiness for flags sent as true, 1, "1", "true", "yes", "on"."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def to_int(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        number = int(str(value).strip())
        if abs(number) > MAX_INT:
            raise ValueError
        return number
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a whole number.", {name: ["Must be a whole number."]}) from exc


def optional_id(value: Any, name: str) -> int | None:
    """An id a client may clear with null, "" or 0."""
    if value in (None, "", 0, "0"):
        return None
    return to_int(value, name)


def parse_id(value: Any) -> int | None:
    """A record id from a batch list, or None when it is not a positive whole number."""
    text = str(value).strip()
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_INT else None


def column_name(order_by: str) -> str | None:
    """Mautic sends sort columns as ``l.email``, ``dateAdded`` or ``a,b``; we sort by one column name."""
    name = order_by.split(",")[0].strip().split(".")[-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or None


class IdConvertor(Convertor[int]):
    """``{name:id}`` path segments: digits, with ids no column can hold read as 0, which never exists (a 404)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_INT else 0

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
