"""Mautic's public tracking surface: ``/mtc.js``, ``POST /mtc/event``, ``GET /mtc``, ``/mtracking.gif``.

Sites that paste Mautic's snippet with our host in it are tracked unchanged. A hit is checked
and answered here without touching the database when Redis is configured (it queues for the
writer, see ``queues.hits``); the embedded default writes it at once. The reply never carries
contact data: only the random device id and the contact's random public id.

Our ``mautic_device_id`` cookie names the visitor on every site, so it is used, set and revealed
only for our own pages and the allowed sites of Settings → Tracking. Any other site is still
tracked, on the id its own pages keep (``mtc.js`` stores the reply's ids in the site's own storage
and sends them back): it can learn no id but the one it was given, and cannot plant one either.
"""

from __future__ import annotations

import base64
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from mautic_app.db import send_task, session_scope
from mautic_app.domain import tracking as rules
from mautic_app.models.base import utcnow
from mautic_app.queues import hits
from mautic_app.queues.group_writer import RETRY_AFTER_SECONDS, Busy, GroupWriter
from mautic_app.queues.redis_queue import claim_wake, enabled
from mautic_app.services import focus, tracking, users
from mautic_app.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

SCRIPT = Path(__file__).resolve().parents[2] / "assets" / "mtc.js"
DEVICE_COOKIE = "mautic_device_id"
CONTACT_COOKIE = "mtc_id"
SESSION_COOKIE = "mautic_session"
ONE_YEAR = 365 * 86400
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NOT_TRACKED: dict[str, Any] = {"success": 0, "id": None, "sid": None, "device_id": None, "events": {}}
NOBODY = {"id": None, "sid": None, "device_id": None}
_RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}


@router.get("/mtc.js")
async def script() -> Response:
    return Response(
        SCRIPT.read_bytes(), media_type="application/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.options("/mtc/event")
async def preflight(request: Request) -> Response:
    return _preflight(any_site_cors(request))


@router.options("/mtc")
async def current_preflight(request: Request) -> Response:
    return _preflight(trusted_cors(request) if await from_trusted_site(request) else {})


def _preflight(cors: dict[str, str]) -> Response:
    headers = cors | {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, X-Requested-With",
        "Access-Control-Max-Age": "86400",
    }
    return Response(status_code=204, headers=headers)


@router.post("/mtc/event")
async def event(request: Request) -> Response:
    try:
        params = await _body(request)
        reply, cookies = await _track(request, params, source="mtc", site=request.headers.get("origin"))
    except _BadRequest as exc:
        return JSONResponse({"errors": [{"code": exc.status, "message": str(exc)}]}, status_code=exc.status, headers=any_site_cors(request))
    except Busy:
        return JSONResponse({"errors": [{"code": 503, "message": "Too busy to record this visit now. Try again shortly."}]},
                            status_code=503, headers=any_site_cors(request) | _RETRY)
    return _with_cookies(JSONResponse(reply, headers=any_site_cors(request)), request, cookies)


@router.get("/mtracking.gif")
async def pixel(request: Request) -> Response:
    """The image fallback: always a 1x1 GIF, so a page never shows a broken image.

    An image request carries no ``Origin``: the page it is on is its ``Referer`` (browsers send at
    least the page's origin by default); a page that sends neither is a site we do not know.
    """
    params = _flat(request.query_params.multi_items())
    status, cookies = 200, None
    try:
        if not _too_big(params):
            _reply, cookies = await _track(request, params, source="pixel",
                                           site=request.headers.get("origin") or request.headers.get("referer"))
    except _BadRequest:  # not tracked: the image all the same
        pass
    except Busy:
        status = 503
    response = Response(PIXEL, status_code=status, media_type="image/gif",
                        headers={"Cache-Control": "no-store, max-age=0"} | (_RETRY if status == 503 else {}))
    return _with_cookies(response, request, cookies)


@router.get("/mtc")
async def current(request: Request) -> Response:
    """What the browser's cookies say it is: ``{id, sid, device_id}`` (ids only, never data).

    Only our own pages and the allowed sites may read it (CORS with credentials). A request with no
    ``Origin`` is answered without CORS, so no other site's page can read the answer; one from any
    other site (or ``Origin: null``) gets no ids: they would let that site's server read the visitor's
    pre-fill values.
    """
    headers = {"Cache-Control": "no-store", "Vary": "Origin", "X-Content-Type-Options": "nosniff"}
    if "origin" in request.headers:
        if not await from_trusted_site(request):
            return JSONResponse(NOBODY, headers=headers)
        headers |= trusted_cors(request)
    device = rules.valid_id(request.cookies.get(DEVICE_COOKIE) or request.query_params.get(DEVICE_COOKIE))
    public_id = await _known_public_id(device) if device else None
    body = {"id": public_id, "sid": device if public_id else None, "device_id": device if public_id else None}
    return JSONResponse(body, headers=headers)


# ------------------------------------------------------------------ the work


class _BadRequest(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > rules.MAX_BODY_BYTES:
        raise _BadRequest("The request is too large.", 413)
    raw = b""
    async for chunk in request.stream():  # chunked bodies without a length are capped as they arrive
        raw += chunk
        if len(raw) > rules.MAX_BODY_BYTES:
            raise _BadRequest("The request is too large.", 413)
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise _BadRequest("The body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise _BadRequest("The body must be a JSON object.")
        return data
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadRequest("The body must be form-encoded UTF-8.") from exc
    return _flat(pairs)


def _flat(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as a dict; ``tags[]=a&tags[]=b`` and repeated keys become lists."""
    out: dict[str, Any] = {}
    for key, value in pairs[:200]:
        key = key[:-2] if key.endswith("[]") else key
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _too_big(params: dict[str, Any]) -> bool:
    return sum(len(str(k)) + len(str(v)) for k, v in params.items()) > rules.MAX_BODY_BYTES


async def _track(request: Request, params: dict[str, Any], *, source: str,
                 site: str | None) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """Accept one hit from the page ``site``. Returns (reply, cookies to set or None); :class:`_BadRequest` when
    the hit is not one to track.

    The visitor is the device id the page sent (the one its own storage keeps), else, for our own
    pages and the allowed sites only, our cookie's; else a new one. Only those sites get our cookie
    set: another site's hits name, and learn, only the ids that site was given.
    """
    ua = request.headers.get("user-agent", "")
    ip = rules.visitor_ip(_peer(request), request.headers.get("x-forwarded-for"), get_settings().trusted_proxies)
    if rules.looks_like_bot(ua) or await _is_marketer(request):
        return NOT_TRACKED, None
    current_settings = await tracking_settings()
    if rules.ip_matches(ip, current_settings["do_not_track_ips"]):
        return NOT_TRACKED, None
    try:
        hit = rules.build_hit(params, ip=ip, user_agent=ua, accept_language=request.headers.get("accept-language"),
                              at=utcnow(), source=source)
    except rules.TrackingInputError as exc:
        raise _BadRequest(str(exc)) from exc
    trusted = rules.trusted_site(site, _own(request), tuple(current_settings["allowed_hosts"]))
    # The script sends the id the page itself stored; our cookie is a third-party one there, often blocked.
    device = rules.valid_id(params.get(DEVICE_COOKIE)) or (rules.valid_id(request.cookies.get(DEVICE_COOKIE)) if trusted else None)
    if enabled():
        public_id = await _queue(hit, device)
    else:
        try:
            public_id = await _hit_writer.submit((hit, device))
        except OperationalError as exc:  # the write lock stayed taken past the busy timeout: not stored
            raise Busy("hits") from exc
    reply = {"success": 1, "id": public_id, "sid": hit.device_id, "device_id": hit.device_id, "events": {},
             "focus": await _focus_for(hit.page.get("url"))}
    return reply, ((hit.device_id, public_id) if trusted else None)


async def _focus_for(url: str | None) -> list[int]:
    """Ids of the published focus items whose ``show_on`` patterns match the page (mtc.js loads them).

    The patterns are cached in-process for a few seconds: a hit never waits on the database for them.
    """
    if not url:
        return []
    index = focus.show_on_if_fresh()
    return (index if index else await run_in_threadpool(focus.cached_show_on)).match(url)


async def _queue(hit: rules.Hit, device: str | None) -> str:
    """Queue the hit in Redis; :class:`Busy` when Redis cannot take it (the hit is not acknowledged)."""
    try:
        return await _push(hit, device)
    except (OSError, RedisError) as exc:
        log.warning("hit not queued, Redis is unavailable: %s", exc)
        raise Busy("hits") from exc


async def _push(hit: rules.Hit, device: str | None) -> str:
    wake, public_id = False, None
    if device:
        hit.device_id = device
        wake, public_id = await hits.push(hit.as_dict(), lookup=device)
        if public_id is None and (public_id := await run_in_threadpool(_public_id_in_db, device)):
            await hits.remember(device, public_id)
    if public_id is None:  # no device, or one we never issued (its queued hit is dropped by the writer): a new one
        hit.device_id, hit.contact_id, hit.new_device = rules.new_id(), rules.new_id(), True
        woke, _ = await hits.push(hit.as_dict(), remember=(hit.device_id, hit.contact_id))
        wake = wake or woke
        public_id = hit.contact_id
    if wake and claim_wake(hits.QUEUE):
        await run_in_threadpool(_wake_writer)
    return public_id


def _public_id_in_db(device: str) -> str | None:
    with session_scope() as session:
        return tracking.public_id_of_device(session=session, device_id=device)


def _wake_writer() -> None:
    """Never raises: beat wakes the writer within seconds anyway."""
    send_task("mautic.tracking.record_queued_hits")


def _write_hits(items: list[tuple[rules.Hit, str | None]]) -> list[str]:
    """The embedded default's writer (see ``queues.group_writer``): a batch of hits in one transaction,
    each with its device's public id, a new device and contact for a device we never issued."""
    with session_scope() as session:
        known = tracking.public_ids_of_devices(session=session, device_ids=[device for _, device in items if device])
        public_ids = []
        for hit, device in items:
            public_id = known.get(device) if device else None
            if public_id:
                hit.device_id = device or ""
            else:
                hit.device_id, hit.contact_id, hit.new_device = rules.new_id(), rules.new_id(), True
                public_id = hit.contact_id
            public_ids.append(public_id)
        updates = tracking.record_hits(session=session, hits=[hit.as_dict() for hit, _ in items])
    return [updates.get(hit.device_id, public_id) for (hit, _), public_id in zip(items, public_ids, strict=True)]


_hit_writer = GroupWriter("hits", _write_hits, batch=500)


async def _known_public_id(device: str) -> str | None:
    if enabled() and (found := await hits.cached_public_id(device)):
        return found
    return await run_in_threadpool(_public_id_in_db, device)


async def _is_marketer(request: Request) -> bool:
    """Signed-in marketers are never tracked (their session cookie reaches us on same-site pages)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return False

    def check() -> bool:
        with session_scope() as session:
            return users.user_for_token(session=session, token=token) is not None

    return await run_in_threadpool(check)


def _peer(request: Request) -> str | None:
    """The address that connected to us: the visitor, or one of our proxies."""
    return request.client.host if request.client else None


async def from_trusted_site(request: Request) -> bool:
    """Whether the request's ``Origin`` is our own origin or an allowed site of Settings → Tracking."""
    current_settings = await tracking_settings()
    return rules.trusted_site(request.headers.get("origin"), _own(request), tuple(current_settings["allowed_hosts"]))


async def tracking_settings() -> dict[str, Any]:
    """Settings → Tracking, read off the event loop only when not cached."""
    fresh = tracking.settings_if_fresh()
    return fresh if fresh else await run_in_threadpool(tracking.cached_settings)


def _own(request: Request) -> tuple[str, str]:
    """Our own origin as a browser names it (``host[:port]``): the host asked for, and the configured address."""
    return request.headers.get("host", ""), _netloc(get_settings().base_url)


@lru_cache(maxsize=8)
def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def trusted_cors(request: Request) -> dict[str, str]:
    """Credentials and the answer for a trusted page (see :func:`from_trusted_site`)."""
    return {"Access-Control-Allow-Origin": request.headers["origin"], "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


def any_site_cors(request: Request) -> dict[str, str]:
    """Any site may post hits (and forms) and read the reply: it holds only ids that site was given
    (``_track``), so the credentials are harmless; what it sends is tracked as it is today."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return {"Access-Control-Allow-Origin": "*"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


def _with_cookies(response: Response, request: Request, ids: tuple[str, str] | None) -> Response:
    if not ids:
        return response
    secure = request.url.scheme == "https" or (
        request.headers.get("x-forwarded-proto") == "https"
        and rules.is_trusted_proxy(rules.clean_ip(_peer(request)), get_settings().trusted_proxies))
    same_site: Literal["none", "lax"] = "none" if secure else "lax"
    device, public_id = ids
    for name, value in ((DEVICE_COOKIE, device), (CONTACT_COOKIE, public_id)):
        response.set_cookie(name, value, max_age=ONE_YEAR, path="/", secure=secure, httponly=False, samesite=same_site)
    return response


# ------------------------------------------------------------------ benchmark baseline

bench_router = APIRouter(include_in_schema=False)
_BARE_REPLY = {"success": 1, "id": "0" * 24, "sid": "1" * 24, "device_id": "1" * 24, "events": {}, "focus": []}


@bench_router.post("/bench/bare")
async def bare(request: Request) -> Response:
    """``make bench`` only (``MAUTIC_BENCH_ROUTES=1``): the same bytes as a hit's reply, no tracking work
    (cookies, as for a hit, only for a trusted site)."""
    await request.body()
    cookies = ("1" * 24, "0" * 24) if await from_trusted_site(request) else None
    return _with_cookies(JSONResponse(_BARE_REPLY, headers=any_site_cors(request)), request, cookies)
