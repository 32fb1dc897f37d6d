"""Signing in and out: plain HTTP form posts, because only a server response can set an ``HttpOnly`` cookie.

The login page (``ui/pages/login.py``) posts here. A good sign-in sets the session cookie
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind HTTPS) and sends the browser on with a full
page load, so the new socket carries the cookie. A bad one goes back to the login page with an
error code, never with text from the request. Failures are rate limited per account and per
address (``throttle``): while an account or address must wait, passwords are not even checked.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mautic_app import throttle
from mautic_app.db import session_scope
from mautic_app.domain import tracking as request_rules
from mautic_app.services import users
from mautic_app.settings import get_settings

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 8 * 1024


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def is_https(request: Request) -> bool:
    """HTTPS here, or at one of our own proxies (only their ``X-Forwarded-Proto`` is believed)."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    return request.headers.get("x-forwarded-proto") == "https" and request_rules.is_trusted_proxy(
        request_rules.clean_ip(peer), get_settings().trusted_proxies)


def _same_site(request: Request) -> bool:
    """A form post from one of our own pages (browsers send ``Origin`` on every POST)."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts, ours = urlsplit(origin), urlsplit(get_settings().base_url)
        return parts.scheme in ("http", "https") and parts.netloc in (request.headers.get("host", ""), ours.netloc)
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


async def _form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        return None


def _back_to_login(next_path: str, **query: str | int) -> RedirectResponse:
    query_string = urlencode({**query, **({"next": next_path} if next_path != "/" else {})})
    return RedirectResponse(f"/login?{query_string}", status_code=303, headers={"Cache-Control": "no-store"})


def _sign_in(username: str, password: str) -> str | None:
    with session_scope() as session:
        user = users.authenticate(session=session, username=username, password=password)
        return users.start_session(session=session, user=user) if user else None


def _end_session(token: str) -> None:
    with session_scope() as session:
        users.end_session(session=session, token=token)


@router.post("/auth/login")
async def log_in(request: Request) -> Response:
    if not _same_site(request):
        return PlainTextResponse("Sign in from this site's login page.", status_code=403)
    form = await _form(request)
    if form is None:
        return PlainTextResponse("The sign-in form is malformed or too large.", status_code=400)
    username, password = form.get("username", "").strip()[:191], form.get("password", "")[:1024]
    next_path = local_path(form.get("next"))
    if not username or not password:
        return _back_to_login(next_path, error="missing")
    ip = request_rules.visitor_ip(request.client.host if request.client else None,
                                  request.headers.get("x-forwarded-for"), get_settings().trusted_proxies) or ""
    if wait := await run_in_threadpool(lambda: throttle.attempt(username=username, ip=ip)):
        return _back_to_login(next_path, error="wait", seconds=wait)
    token = await run_in_threadpool(_sign_in, username, password)
    if token is None:
        wait = await run_in_threadpool(lambda: throttle.wait_seconds(username=username, ip=ip))
        return _back_to_login(next_path, **({"error": "wait", "seconds": wait} if wait else {"error": "wrong"}))
    await run_in_threadpool(lambda: throttle.succeeded(username=username, ip=ip))
    response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(users.SESSION_COOKIE, token, max_age=get_settings().session_hours * 3600, path="/",
                        httponly=True, samesite="strict", secure=is_https(request))
    return response


@router.post("/auth/logout")
async def log_out(request: Request) -> Response:
    if not _same_site(request):
        return PlainTextResponse("Sign out from this site's pages.", status_code=403)
    if token := request.cookies.get(users.SESSION_COOKIE):
        await run_in_threadpool(_end_session, token)
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(users.SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))
    return response
