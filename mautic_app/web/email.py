"""Public e-mail routes (Mautic's paths): the open pixel ``/email/{hash}.gif``, click redirects
``/r/{redirect}?ct={hash}``, "view in browser" ``/email/view/{hash}``, and unsubscribing at
``/email/unsubscribe/{hash}`` (a page with a confirm and a resubscribe button, and RFC 8058's one-click POST), and
the preference center ``/email/preferences/{hash}`` (e-mail on or off, lists to leave, a pause).

A hash that names no message gets a 404 everywhere but the pixel (which is always the GIF); a click only
ever leads to a link that was in that very e-mail. Opens and clicks each go through one group thread (a
broadcast's first minutes bring thousands at once): a pixel is answered at once, a click once its group is looked
up, and neither waits for its write."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from mautic_app.db import session_scope
from mautic_app.models import Email
from mautic_app.queues.group_writer import Busy, GroupWriter
from mautic_app.services import email_tracking
from mautic_app.settings import get_settings
from mautic_app.web.tracking import CONTACT_COOKIE, ONE_YEAR, PIXEL

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, max-age=0"}
FORM_TOKEN_DAYS = 30


def _write_opens(hashes: list[str]) -> list[bool]:
    with session_scope() as session:
        return email_tracking.record_opens(session=session, hashes=hashes)


def _resolve_clicks(items: list[tuple[str, str | None]]) -> list[email_tracking.Click | None]:
    with session_scope() as session:
        return email_tracking.resolve_clicks(session=session, items=items)


def _write_clicks(_items: list[tuple[str, str | None]], clicks: list[email_tracking.Click | None]) -> None:
    with session_scope() as session:
        email_tracking.record_clicks(session=session, clicks=[c for c in clicks if c is not None])


_opens = GroupWriter("e-mail opens", _write_opens)
_clicks = GroupWriter("e-mail clicks", _resolve_clicks, then=_write_clicks)


@router.get("/email/{name}.gif")
async def pixel(name: str) -> Response:
    """Always the GIF, at once, whether or not the hash names a message (it never tells which); the open is
    written with the next group (a mail client showing the message waits for nothing)."""
    task = asyncio.ensure_future(_opens.submit(name[:64]))
    _writing.add(task)  # a strong reference until it is written
    task.add_done_callback(_written)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


_writing: set[asyncio.Future[bool]] = set()


def _written(task: asyncio.Future[bool]) -> None:
    _writing.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if isinstance(exc, Busy):
        log.warning("e-mail open not recorded: the writer is far behind")
    elif exc is not None:  # a lost open is not worth a broken image
        log.error("could not record an e-mail open", exc_info=exc)


@router.get("/r/{redirect_id}")
async def click(redirect_id: str, request: Request) -> Response:
    tracking_hash = request.query_params.get("ct") or None
    try:
        found = await _clicks.submit((redirect_id[:32], tracking_hash[:64] if tracking_hash else None))
    except Busy:
        return Response("Busy, try again in a moment.", status_code=503, headers={"Retry-After": "1"})
    if found is None:
        return _page("Link not found", "<p>This link does not exist.</p>", status=404)
    response = RedirectResponse(found.url, status_code=302, headers=NO_STORE)
    if found.public_id:  # the visitor is this contact on our own pages too, as a tracked visit would set it
        response.set_cookie(CONTACT_COOKIE, found.public_id, max_age=ONE_YEAR, path="/", samesite="lax",
                            secure=request.url.scheme == "https")
    return response


@router.get("/email/view/{tracking_hash}")
async def web_view(tracking_hash: str) -> Response:
    def read() -> str | None:
        with session_scope() as session:
            return email_tracking.web_view(session=session, tracking_hash=tracking_hash)

    body = await run_in_threadpool(read)
    if body is None:
        return _page("Not found", "<p>This e-mail does not exist.</p>", status=404)
    # The marketer's HTML, shown on our origin: sandboxed, so no script in it runs here.
    return HTMLResponse(body, headers=NO_STORE | {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="email-unsubscribe")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
            f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
            f"padding:0 1rem;color:#222}}button{{font:inherit;padding:.5rem 1rem}}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
    return HTMLResponse(page, status_code=status, headers=NO_STORE | {"X-Frame-Options": "DENY",
                                                                      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"})


def _state(tracking_hash: str) -> tuple[str, str, bool] | None:
    """(the address, the e-mail's name, unsubscribed?) for a hash, or None."""
    with session_scope() as session:
        stat = email_tracking.stat_of(session=session, tracking_hash=tracking_hash)
        if stat is None or stat.contact_id is None:
            return None
        email = session.get(Email, stat.email_id)
        return stat.email_address, email.name if email else "", email_tracking.is_unsubscribed(session=session, stat=stat)


def _unsubscribe_page(tracking_hash: str, address: str, name: str, unsubscribed: bool, done: str = "") -> HTMLResponse:
    token = _signer().dumps(tracking_hash)
    if unsubscribed:
        text = done or f"<p>{html.escape(address)} will get no more e-mails from us.</p>"
        button, action = "Resubscribe", "resubscribe"
    else:
        text = done or (f"<p>Stop e-mails to {html.escape(address)}? (You got this one as “{html.escape(name)}”.) "
                        f'Or <a href="/email/preferences/{html.escape(tracking_hash)}">choose what you get</a>.</p>')
        button, action = "Unsubscribe", "unsubscribe"
    form = (f'<form method="post"><input type="hidden" name="token" value="{html.escape(token)}">'
            f'<input type="hidden" name="action" value="{action}"><button type="submit">{button}</button></form>')
    return _page("Unsubscribed" if unsubscribed else "Unsubscribe", text + form)


@router.get("/email/unsubscribe/{tracking_hash}")
async def unsubscribe_page(tracking_hash: str) -> Response:
    state = await run_in_threadpool(_state, tracking_hash)
    if state is None:
        return _page("Not found", "<p>This unsubscribe link is not valid.</p>", status=404)
    return _unsubscribe_page(tracking_hash, *state)


@router.post("/email/unsubscribe/{tracking_hash}")
async def unsubscribe(tracking_hash: str, request: Request) -> Response:
    """The page's buttons (with their signed token), or a mail client's one-click unsubscribe (RFC 8058)."""
    form = await request.form()
    one_click = form.get("List-Unsubscribe") == "One-Click"
    action = "unsubscribe" if one_click else str(form.get("action") or "")
    if not one_click:
        try:
            if _signer().loads(str(form.get("token") or ""), max_age=FORM_TOKEN_DAYS * 86400) != tracking_hash:
                raise BadSignature("another message's token")
        except BadSignature:
            return _page("Not found", "<p>This unsubscribe link is not valid.</p>", status=404)
    if action not in ("unsubscribe", "resubscribe"):
        return _page("Bad request", "<p>Unknown action.</p>", status=400)

    def change() -> bool:
        with session_scope() as session:
            stat = email_tracking.stat_of(session=session, tracking_hash=tracking_hash)
            if stat is None or stat.contact_id is None:
                return False
            (email_tracking.unsubscribe if action == "unsubscribe" else email_tracking.resubscribe)(session=session, stat=stat)
            return True

    if not await run_in_threadpool(change):
        return _page("Not found", "<p>This unsubscribe link is not valid.</p>", status=404)
    if one_click:
        return Response("Unsubscribed.", media_type="text/plain", headers=NO_STORE)
    state = await run_in_threadpool(_state, tracking_hash)
    assert state is not None
    address, name, unsubscribed = state
    done = (f"<p>Done: {html.escape(address)} is unsubscribed.</p>" if unsubscribed
            else f"<p>Welcome back: {html.escape(address)} gets our e-mails again.</p>")
    return _unsubscribe_page(tracking_hash, address, name, unsubscribed, done)


def _preferences_state(tracking_hash: str) -> dict | None:
    with session_scope() as session:
        stat = email_tracking.stat_of(session=session, tracking_hash=tracking_hash)
        if stat is None or stat.contact_id is None:
            return None
        return email_tracking.preferences(session=session, stat=stat)


def _preferences_page(tracking_hash: str, shown: dict, note: str = "") -> HTMLResponse:
    token = html.escape(_signer().dumps(tracking_hash))
    segments = "".join(
        f'<label style="display:block"><input type="checkbox" name="keep" value="{s["id"]}" checked> {html.escape(s["name"])}</label>'
        for s in shown["segments"])
    checked = " checked" if shown["subscribed"] else ""
    body = (f"{note}<p>E-mail preferences for {html.escape(shown['email'])}.</p>"
            f'<form method="post"><input type="hidden" name="token" value="{token}">'
            f'<p><label><input type="checkbox" name="email" value="1"{checked}> Send me e-mails</label></p>'
            + (f"<fieldset><legend>Lists I am on</legend>{segments}</fieldset>" if segments else "")
            + f'<fieldset><legend>Pause e-mails</legend><label>From <input type="date" name="pause_from" value="{html.escape(shown["pause_from"])}"></label> '
            f'<label>until <input type="date" name="pause_to" value="{html.escape(shown["pause_to"])}"></label></fieldset>'
            '<p><button type="submit">Save my preferences</button></p></form>')
    return _page("E-mail preferences", body)


@router.get("/email/preferences/{tracking_hash}")
async def preferences_page(tracking_hash: str) -> Response:
    shown = await run_in_threadpool(_preferences_state, tracking_hash)
    if shown is None:
        return _page("Not found", "<p>This link is not valid.</p>", status=404)
    return _preferences_page(tracking_hash, shown)


@router.post("/email/preferences/{tracking_hash}")
async def save_preferences(tracking_hash: str, request: Request) -> Response:
    form = await request.form()
    try:
        if _signer().loads(str(form.get("token") or ""), max_age=FORM_TOKEN_DAYS * 86400) != tracking_hash:
            raise BadSignature("another message's token")
    except BadSignature:
        return _page("Not found", "<p>This link is not valid.</p>", status=404)
    try:
        pause_from = date.fromisoformat(str(form.get("pause_from"))) if form.get("pause_from") else None
        pause_to = date.fromisoformat(str(form.get("pause_to"))) if form.get("pause_to") else None
        keep = {int(str(v)) for v in form.getlist("keep") if str(v).isdigit()}
    except ValueError:
        return _page("Bad request", "<p>Those dates are not dates.</p>", status=400)

    def save() -> bool:
        with session_scope() as session:
            stat = email_tracking.stat_of(session=session, tracking_hash=tracking_hash)
            if stat is None or stat.contact_id is None:
                return False
            offered = {s["id"] for s in email_tracking.preferences(session=session, stat=stat)["segments"]}
            email_tracking.save_preferences(session=session, stat=stat, subscribed=form.get("email") == "1", leave=sorted(offered - keep),
                                            pause_from=pause_from, pause_to=pause_to)
            return True

    try:
        if not await run_in_threadpool(save):
            return _page("Not found", "<p>This link is not valid.</p>", status=404)
    except ValueError as exc:
        return _page("Bad request", f"<p>{html.escape(str(exc))}</p>", status=400)
    shown = await run_in_threadpool(_preferences_state, tracking_hash)
    assert shown is not None
    return _preferences_page(tracking_hash, shown, "<p><strong>Saved.</strong></p>")
