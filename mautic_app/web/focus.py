"""Focus items on any site: ``/focus/{id}.js`` and its view / click / conversion pixel.

The script is rendered from the item's settings (see ``domain.focus``); an unknown or unpublished
id answers a 404 that is still JavaScript, so a site's console shows why nothing appears. The
pixel (``/focus/{id}/viewpixel.gif?type=view|click|conversion``, Mautic's name) always answers a
1x1 GIF; it also takes POSTs, which is what ``navigator.sendBeacon`` sends when a link opens.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from mautic_app.db import session_scope
from mautic_app.domain import focus as rules
from mautic_app.domain import tracking as tracking_rules
from mautic_app.queues.group_writer import Busy, GroupWriter
from mautic_app.services import focus
from mautic_app.web.tracking import DEVICE_COOKIE, PIXEL, any_site_cors

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
JS = "application/javascript; charset=utf-8"


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 10 and 0 < int(text) < 2**31 else None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/focus/{name}.js")
async def script(name: str, request: Request) -> Response:
    focus_id = _id(name)
    headers = any_site_cors(request) | {"X-Content-Type-Options": "nosniff"}
    body = None
    if focus_id is not None:
        base = _base(request)

        def render() -> str | None:
            with session_scope() as session:
                return focus.script_for(session=session, focus_id=focus_id, base=base)

        body = await run_in_threadpool(render)
    if body is None:
        return Response(rules.not_found_script(), status_code=404, media_type=JS,
                        headers=headers | {"Cache-Control": "no-store"})
    return Response(body, media_type=JS, headers=headers | {"Cache-Control": "public, max-age=30"})


@router.get("/focus/{name}/viewpixel.gif")
@router.post("/focus/{name}/viewpixel.gif")
async def pixel(name: str, request: Request) -> Response:
    """Always the GIF: a bogus id, type or device records nothing (or an anonymous stat), never an error."""
    focus_id = _id(name)
    stat_type = request.query_params.get("type") or "view"
    response = Response(PIXEL, media_type="image/gif", headers=any_site_cors(request) | {"Cache-Control": "no-store, max-age=0"})
    if focus_id is None or stat_type not in rules.STAT_TYPES:
        return response
    if tracking_rules.looks_like_bot(request.headers.get("user-agent", "")):
        return response
    device = tracking_rules.valid_id(request.query_params.get(DEVICE_COOKIE)) or tracking_rules.valid_id(
        request.cookies.get(DEVICE_COOKIE))

    try:
        await _stat_writer.submit((focus_id, stat_type, device))
    except Busy:
        log.warning("focus stat %s for %s not recorded: the writer is far behind", stat_type, focus_id)
    except Exception:  # noqa: BLE001  (a lost stat is not worth a broken image)
        log.exception("could not record focus stat %s for %s", stat_type, focus_id)
    return response


def _write_stats(items: list[tuple[int, str, str | None]]) -> list[None]:
    """Every page view with a focus item sends one: written in batches, like hits (``queues.group_writer``)."""
    with session_scope() as session:
        for focus_id, stat_type, device in items:
            focus.record_stat(session=session, focus_id=focus_id, stat_type=stat_type, device_id=device)
    return [None] * len(items)


_stat_writer = GroupWriter("focus stats", _write_stats)
