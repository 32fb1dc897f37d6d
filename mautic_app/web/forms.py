"""Forms on any site, with Mautic's addresses and names, so forms written for Mautic post unchanged.

``/form/generate.js?id=N`` (the script tag a site pastes) inserts the form where the tag is;
``/form/{id}`` (and ``/form/embed/{id}``) is a page of its own for links and iframes;
``POST /form/submit`` takes ``mauticform[...]`` fields, with ``?ajax=1`` answering JSON.
``/form/prefill`` gives auto-fill values to our own pages and the allowed sites only.

With Redis a post is checked against the form (cached a few seconds), queued, and answered at
once; the writer (``tasks.forms.record_queued_submissions``) stores it with its contact and
actions within a second or so. The embedded default writes it before answering.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser

from mautic_app.db import send_task, session_scope
from mautic_app.domain import forms as rules
from mautic_app.domain import tracking as tracking_rules
from mautic_app.queues import form_posts
from mautic_app.queues.group_writer import RETRY_AFTER_SECONDS, Busy, GroupWriter
from mautic_app.queues.redis_queue import claim_wake, enabled
from mautic_app.services import form_batches, forms
from mautic_app.settings import get_settings
from mautic_app.web.tracking import DEVICE_COOKIE, any_site_cors, from_trusted_site, tracking_settings, trusted_cors

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
RUNTIME = Path(__file__).resolve().parents[2] / "assets" / "mauticform.js"
MAX_POST_WITH_FILES = int(rules.MAX_FILE_MB * 1024 * 1024) + rules.MAX_POST_BYTES
NOT_FOUND_JS = "/* This form does not exist or is not published. */\n"


# ------------------------------------------------------------------ showing a form


@router.get("/form/generate.js")
async def generate(request: Request) -> Response:
    form_id = _int(request.query_params.get("id"))
    rendered = await run_in_threadpool(_render, form_id, _device(request), dict(request.query_params), _base(request))
    if rendered is None:
        return Response(NOT_FOUND_JS, status_code=404, media_type="application/javascript; charset=utf-8")
    html, form = rendered
    config = {"html": html, "id": form["id"], "alias": form["alias"], "base": _base(request), "prefill": form["autofill"]}
    body = _runtime().replace("__MAUTIC_FORM__", _js_json(config))
    # Progressive profiling depends on the visitor: never shared between visitors by a cache.
    return Response(body, media_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "private, no-store", "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"})


@router.get("/form/{form_id:int}")
@router.get("/form/embed/{form_id:int}")
async def page(request: Request, form_id: int) -> Response:
    """The form on a page of its own: a link to share, or an iframe's ``src``."""
    found = await run_in_threadpool(_page_info, form_id)
    if found is None:
        return HTMLResponse(_page_html("Form not found", "<p>This form does not exist or is not published.</p>", ""), status_code=404)
    name, no_index = found
    script = f'<script src="/form/generate.js?id={form_id}&amp;{_query_for_script(request)}"></script>'
    return HTMLResponse(_page_html(name, script, '<meta name="robots" content="noindex">' if no_index else ""),
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors *"})


@router.get("/form/prefill")
async def prefill(request: Request) -> Response:
    """What a known visitor's form looks like: fields progressive profiling hides, and auto-fill values.

    Values (and our cookie's visitor) only for a page whose ``Origin`` is our own or an allowed site
    of Settings → Tracking, with credentials. Any other site learns only which fields to hide for the
    device id its own pages keep (no value, no cookie, no credentials); a request naming no site (a
    server that learnt a device id) gets nothing.
    """
    headers = {"Cache-Control": "private, no-store", "Vary": "Origin, Cookie"}
    form_id = _int(request.query_params.get("id"))
    if await from_trusted_site(request):
        hide, values = await run_in_threadpool(_known_visitor, form_id, _device(request))
        return JSONResponse({"hide": hide, "values": values}, headers=headers | trusted_cors(request))
    own_device = tracking_rules.valid_id(request.query_params.get(DEVICE_COOKIE))
    if request.headers.get("origin") in (None, "null") or not own_device:
        return JSONResponse({"hide": [], "values": {}}, headers=headers)
    hide, _values = await run_in_threadpool(_known_visitor, form_id, own_device)
    return JSONResponse({"hide": hide, "values": {}}, headers=headers | {"Access-Control-Allow-Origin": "*"})


def _render(form_id: int | None, device: str | None, query: dict[str, str], base: str) -> tuple[str, dict[str, Any]] | None:
    """The form as this visitor sees it (progressive profiling); auto-fill values come later, from /form/prefill."""
    form = forms.cached_form(form_id) if form_id else None
    if form is None or not forms.is_live(form):
        return None
    with session_scope() as session:
        contact_id = forms.contact_of_device(session=session, device_id=device)
        view = forms.visitor_view(session=session, form=form, fields=form.fields, contact_id=contact_id, query=query,
                                  autofill=False)
    html = rules.render_form(form_id=form.id, alias=form.alias, name=form.name, fields=view.fields,
                             action=f"{base}/form/submit?formId={form.id}", prefill=view.prefill)
    return html, {"id": form.id, "alias": form.alias, "autofill": not form.in_kiosk_mode}


@functools.cache
def _runtime() -> str:
    """The form runtime, read once per process (every page showing a form asks for it)."""
    return RUNTIME.read_text(encoding="utf-8")


def _page_info(form_id: int) -> tuple[str, bool] | None:
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        return (form.name, form.no_index) if form is not None and forms.is_live(form) else None


def _known_visitor(form_id: int | None, device: str | None) -> tuple[list[str], dict[str, Any]]:
    if not form_id:
        return [], {}
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None or not forms.is_live(form) or form.in_kiosk_mode:
            return [], {}
        contact_id = forms.contact_of_device(session=session, device_id=device)
        if not contact_id:
            return [], {}
        fields = forms.fields_of(session=session, form_id=form_id)
        view = forms.visitor_view(session=session, form=form, fields=fields, contact_id=contact_id, query={}, autofill=True)
        shown = {f.alias for f in view.fields}
        auto = {f.alias for f in view.fields if f.is_auto_fill}
        return [f.alias for f in fields if f.alias not in shown], {k: v for k, v in view.prefill.items() if k in auto}


def _page_html(title: str, body: str, head: str) -> str:
    """A page of its own, headed by its title (the form's name)."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'{head}<title>{rules.e(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}'
            f'{rules.FORM_CSS}</style></head><body><main><h1>{rules.e(title)}</h1>{body}</main></body></html>')


def _query_for_script(request: Request) -> str:
    """The page's own query parameters pre-fill fields, as on a site's page."""
    return rules.e(urlencode([(k, v[:500]) for k, v in list(request.query_params.multi_items())[:50] if k != "id"]))


# ------------------------------------------------------------------ submitting


class _Limiter:
    """Submissions per IP and form per minute, in this process: the embedded default's one server.
    With Redis the limit is counted in the queue's push (:func:`queues.form_posts.push_submission`), for every server."""

    def __init__(self) -> None:
        self.local: dict[str, list[float]] = defaultdict(list)

    async def allow(self, key: str) -> bool:
        limit = get_settings().form_submits_per_minute
        if limit <= 0:
            return True
        now = time.monotonic()
        recent = [t for t in self.local[key] if now - t < 60]
        if len(self.local) > 10000:
            self.local.clear()
        self.local[key] = recent + [now]
        return len(recent) < limit


_limiter = _Limiter()


@router.options("/form/submit")
async def submit_preflight(request: Request) -> Response:
    return Response(status_code=204, headers=any_site_cors(request) | {
        "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": "Content-Type, X-Requested-With",
        "Access-Control-Max-Age": "86400"})


@router.post("/form/submit")
async def submit(request: Request) -> Response:
    ajax = request.query_params.get("ajax") in ("1", "true") or request.headers.get("x-requested-with") == "XMLHttpRequest"
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _refuse(request, ajax, 415, "Send the form as a web form (form-encoded or multipart).")
    cap = rules.MAX_POST_BYTES if kind == "application/x-www-form-urlencoded" else MAX_POST_WITH_FILES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        return _refuse(request, ajax, 413, "The form is too large to send.")
    try:
        data = await _read_form(request, kind, cap)
    except _TooLarge:
        return _refuse(request, ajax, 413, "The form is too large to send.")
    except Exception:  # noqa: BLE001  (malformed bodies of every kind, and visitors gone mid-post)
        return _refuse(request, ajax, 400, "The form could not be read.")
    values: dict[str, Any] = {}
    form_id = 0
    try:
        values, meta = rules.read_post((k, v) for k, v in data.multi_items())
        form_id = _int(meta.get("formid")) or _int(request.query_params.get("formId")) or 0
        if not form_id:
            return _refuse(request, ajax, 400, "The form is missing its id (mauticform[formId]).")
        page_url = rules.web_url(data.get("mautic_page_url")) if isinstance(data.get("mautic_page_url"), str) else None
        origin_page = request.headers.get("origin") or request.headers.get("referer")
        ip = tracking_rules.visitor_ip(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                                       get_settings().trusted_proxies)
        if meta.get(rules.HONEYPOT):
            # A bot filled the field people never see: it is told all went well, and nothing is kept.
            return _answer(request, ajax, {"success": 1, "message": "Thank you."}, None)
        if not enabled() and not await _limiter.allow(f"{ip}:{form_id}"):  # with Redis: in the queue's push
            return _refuse(request, ajax, 429, "Too many submissions from your address. Please wait a minute.")
        device = tracking_rules.valid_id(data.get(DEVICE_COOKIE) if isinstance(data.get(DEVICE_COOKIE), str) else None) or _device(request)
        if any(isinstance(v, UploadFile) for v in data.values()):
            refused = await _keep_uploads(request, ajax, form_id, values)
            if refused is not None:
                return refused
        posted = forms.Posted(values=values, ip=ip, device_id=device, referer=request.headers.get("referer"),
                              page_url=page_url or rules.web_url(request.headers.get("referer")),
                              user_agent=(request.headers.get("user-agent") or "")[:1024])
        response, kept = await _accept(request, ajax, form_id, posted, meta.get("return") or "", origin_page)
        if not kept:
            await _discard(form_id, values)
        return response
    except BaseException:
        forms.discard_uploads(form_id, values)  # the post is lost, so are its files (here: a cancelled task awaits nothing)
        raise
    finally:
        await data.close()


class _TooLarge(ValueError):
    pass


async def _read_form(request: Request, kind: str, cap: int) -> FormData:
    """The post's fields, the body refused as soon as it passes ``cap`` bytes (with or without a
    Content-Length). Files wait in temporary files that vanish with the request; only
    :func:`_keep_uploads` keeps any. A plain form-encoded post (every AJAX post) is parsed directly:
    it is the busy path, and the streaming parser costs several times more."""
    body = _capped(request.stream(), cap)
    if kind != "application/x-www-form-urlencoded":
        return await MultiPartParser(request.headers, body, max_files=10, max_fields=300, max_part_size=rules.MAX_POST_BYTES).parse()
    raw = b"".join([chunk async for chunk in body])
    # Starlette asks for a list of (name, text or file) pairs, and a list is invariant: one of text pairs is one it takes.
    return FormData(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=300))  # type: ignore[arg-type]


async def _capped(stream: AsyncGenerator[bytes, None], cap: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        yield chunk


async def _keep_uploads(request: Request, ajax: bool, form_id: int, values: dict[str, Any]) -> Response | None:
    """Keep the files of the form's own file fields that pass their field's checks, whole; a refusal
    when the form is not live or the uploads' quota is reached. Files under any other name are dropped
    unkept; a file its field refuses is replaced by its name and size, for the field's error."""
    form = await run_in_threadpool(forms.cached_form, form_id)
    if form is None or not forms.is_live(form):
        return _refuse(request, ajax, 404, "This form does not exist or is not published.")
    file_fields = {f.alias: f for f in form.fields if f.type == "file"}
    for alias, value in list(values.items()):
        sent = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, UploadFile)]
        if not sent:
            continue
        field = file_fields.get(alias)
        if field is None:
            if isinstance(value, list):
                values[alias] = [v for v in value if not isinstance(v, UploadFile)]
            else:
                del values[alias]
            continue
        upload = sent[-1]  # as for text, the last one sent
        name, size = upload.filename or "", upload.size or 0
        if not name and not size:  # a file input left empty
            values[alias] = None
        elif rules.upload_refusal(field, name, size) or not field.save_result:
            values[alias] = {"filename": name, "size": size}  # nothing kept: the field's check says why, or keeps no result
        else:
            try:
                values[alias] = await run_in_threadpool(forms.keep_upload, form_id, upload.file, name, size)
            except forms.UploadsFull:
                await _discard(form_id, values)
                return _refuse(request, ajax, 507, "This site cannot take more uploaded files now. Please try again later.")
    return None


async def _discard(form_id: int, values: dict[str, Any]) -> None:
    """Delete the files a post kept (off the event loop; most posts have none)."""
    if any(isinstance(v, dict) and v.get("stored") for v in values.values()):
        await run_in_threadpool(forms.discard_uploads, form_id, values)


async def _accept(request: Request, ajax: bool, form_id: int, posted: forms.Posted, return_to: str,
                  origin_page: str | None) -> tuple[Response, bool]:
    """Check the post against the cached form and hand it to the writer: with Redis, queued and
    answered at once; on the embedded default, answered once this process's writer has stored it
    (``queues.group_writer``). Returns the answer and whether the post was kept."""
    cached = forms.cached_form_if_fresh(form_id)  # False when it must be read; None when the form does not exist
    form = cached if cached is None or isinstance(cached, forms.FormSnapshot) else await run_in_threadpool(forms.cached_form, form_id)
    if form is None or not forms.is_live(form):
        return _refuse(request, ajax, 404, "This form does not exist or is not published."), False
    # A field the visitor was shown posts its name even when empty: only absent ones may have been hidden.
    checked = rules.check_post(form.fields, posted.values, hidden=forms.maybe_hidden(form) - set(posted.values))
    if checked.errors:
        return await _invalid(request, ajax, form_id, checked.errors, posted.values), False
    settings_now = await tracking_settings()
    reply = rules.after_submit(form.post_action, form.post_action_property, return_to=return_to,
                               page=origin_page or posted.page_url, allowed_hosts=settings_now.get("allowed_hosts") or [])
    item = {"form_id": form_id, "values": posted.values, "ip": posted.ip, "device": posted.device_id,
            "referer": posted.referer, "page_url": posted.page_url, "ua": posted.user_agent}
    try:
        if not enabled():
            try:
                await _form_writer.submit({**item, "values": dict(posted.values)})
            except asyncio.CancelledError:
                posted.values.clear()  # the visitor left, but the writer has the post: its files are the writer's now
                raise
            return _answer(request, ajax, reply, reply.get("redirect")), True
        writing = await form_posts.push_submission(item, rate_key=f"{posted.ip}:{form_id}", limit=get_settings().form_submits_per_minute)
    except (Busy, OSError, RedisError, OperationalError) as exc:
        if not isinstance(exc, Busy):
            log.warning("form post not stored, the queue or database is unavailable: %s", exc)
        return _refuse(request, ajax, 503, "The form cannot be received right now. Please try again in a moment."), False
    if writing is None:
        return _refuse(request, ajax, 429, "Too many submissions from your address. Please wait a minute."), False
    if not writing and claim_wake(form_posts.QUEUE):
        await run_in_threadpool(_wake_writer)
    return _answer(request, ajax, reply, reply.get("redirect")), True


def _write_posts(items: list[dict[str, Any]]) -> list[None]:
    form_batches.record_queued(items=items)
    return [None] * len(items)


_form_writer = GroupWriter("form posts", _write_posts, batch=200, max_waiting=500)


def _wake_writer() -> None:
    """Never raises: beat wakes the writer within seconds anyway."""
    send_task("mautic.forms.record_queued_submissions")


def _answer(request: Request, ajax: bool, reply: dict[str, Any], redirect: str | None) -> Response:
    if ajax:
        return JSONResponse({k: v for k, v in reply.items() if k != "return"}, headers=any_site_cors(request))
    if redirect:
        return RedirectResponse(redirect, status_code=303)
    back = reply.get("return")
    link = f'<p><a href="{rules.e(back)}">Back to the page</a></p>' if back else ""
    return HTMLResponse(_page_html("Thank you", f'<p role="status">{rules.e(reply.get("message") or "Thank you.")}</p>{link}', ""))


async def _invalid(request: Request, ajax: bool, form_id: int, errors: dict[str, str], values: dict[str, Any]) -> Response:
    if ajax:
        return JSONResponse({"success": 0, "validationErrors": errors, "errorMessage": "Please correct the fields marked."},
                            headers=any_site_cors(request))
    resent = {k: v for k, v in values.items() if isinstance(v, str | list)}
    html = await run_in_threadpool(_rerender, form_id, errors, resent, _base(request))
    return HTMLResponse(_page_html("Please correct the form", html, ""), status_code=400)


def _rerender(form_id: int, errors: dict[str, str], values: dict[str, Any], base: str) -> str:
    with session_scope() as session:
        form = forms.get_form(session=session, form_id=form_id)
        if form is None:  # deleted since the post was checked against its cached copy: a server error, as before
            raise LookupError(f"form {form_id} was deleted")
        fields = forms.fields_of(session=session, form_id=form_id)
        return rules.render_form(form_id=form_id, alias=form.alias, name=form.name, fields=fields,
                                 action=f"{base}/form/submit?formId={form_id}", prefill=values,
                                 errors=errors | {"_form": "Please correct the fields marked."})


def _refuse(request: Request, ajax: bool, status: int, message: str) -> Response:
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    if ajax:
        return JSONResponse({"success": 0, "errorMessage": message, "errors": [{"code": status, "message": message}]},
                            status_code=status, headers=any_site_cors(request) | retry)
    return HTMLResponse(_page_html("The form was not sent", f'<p role="alert">{rules.e(message)}</p>', ""), status_code=status,
                        headers=retry)


# ------------------------------------------------------------------ small helpers


def _int(value: Any) -> int | None:
    try:
        n = int(str(value))
    except (TypeError, ValueError):
        return None
    return n if 0 < n < 2**31 else None


def _device(request: Request) -> str | None:
    return tracking_rules.valid_id(request.query_params.get(DEVICE_COOKIE)) or tracking_rules.valid_id(request.cookies.get(DEVICE_COOKIE))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _js_json(value: Any) -> str:
    """JSON safe inside a script: no ``</script>``, no HTML comment openers, no JS line terminators."""
    text = json.dumps(value, ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text
