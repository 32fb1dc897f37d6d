"""Mautic's batch semantics: up to 200 items, each in its own transaction, each with a status.

One bad item must not undo the others, so every item runs in its own ``session_scope``; a
known error becomes that item's status code and error entry, anything else still fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import Session

from mautic_app.db import session_scope
from mautic_app.web.api.errors import ApiError, as_api_error, error_item
from mautic_app.web.api.requests import parse_id

Result = tuple[int, Any]


def run_item(work: Callable[[Session], Result]) -> Result:
    try:
        with session_scope() as session:
            return work(session)
    except Exception as exc:  # noqa: BLE001 - as_api_error re-raises anything that is not a known API error
        err = as_api_error(exc)
        return err.status, err


def delete_many(raw_ids: Iterable[Any], *, read_many: Callable[[Session, list[int]], dict[int, dict[str, Any]]],
                delete: Callable[[Session, list[int]], Any]) -> list[Result]:
    """Serialize what exists (ids must still be there to show), delete it, report the rest as 404/400."""
    wanted = [parse_id(i) for i in raw_ids]
    results: list[Result] = []
    with session_scope() as session:
        bodies = read_many(session, [i for i in wanted if i])
        for record_id in wanted:
            if record_id is None:
                results.append((400, ApiError(400, "Ids are positive whole numbers.")))
            elif record_id in bodies:
                results.append((200, bodies[record_id]))
            else:
                results.append((404, ApiError(404)))
        delete(session, list(bodies))
    return results


def payload(key: str, results: list[Result]) -> dict[str, Any]:
    """Entities, a status code per item and, when some failed, errors by item index.

    As in Mautic (a PHP array with holes), the entities are a list when every item succeeded and
    an object keyed by item index otherwise, so an entity's position always matches its status.
    """
    errors = {str(i): error_item(body.status, body.message, body.details)
              for i, (_, body) in enumerate(results) if isinstance(body, ApiError)}
    entities = {str(i): body for i, (_, body) in enumerate(results) if not isinstance(body, ApiError)}
    out: dict[str, Any] = {key: entities if errors else list(entities.values()),
                           "statusCodes": [status for status, _ in results]}
    if errors:
        out["errors"] = errors
    return out
