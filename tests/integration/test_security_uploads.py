"""Uploads and outgoing requests, as an attacker would use them.

Form posts are public: a visitor with no account may send files under any name, bodies without
a length that never end, files over their field's size, posts cut off half way, and file after file
until the disk is full. A form's "re-post to URL" action makes the server send requests: to its own
ports, the private network or the cloud metadata service, unless every request is checked.
Each runs on SQLite (the embedded default, stored in the request) and PostgreSQL with Redis
(checked, queued, stored by the writer).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from mautic_app import db, outgoing
from mautic_app.models import FormAction, FormSubmission
from mautic_app.queues import form_posts, redis_queue
from mautic_app.services import forms
from mautic_app.settings import get_settings
from tests.integration.conftest import visitor_browser

SITE = "https://shop.example"
VISITOR_IP = "203.0.113.40"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
PAYLOAD = b"ATTACKER-PAYLOAD-" * 64
MB = 1024 * 1024


@pytest.fixture
def site(database, monkeypatch, override_settings) -> Iterator:
    override_settings(form_submits_per_minute=0)
    with visitor_browser(monkeypatch, origin=SITE, ip=VISITOR_IP) as c:
        yield c


def make_form(session, *, actions=None, cv_mb: float = 0.1, cv_saved: bool = True) -> int:
    fields = [
        {"label": "E-mail", "alias": "email", "type": "email", "is_required": True, "mapped_object": "contact", "mapped_field": "email"},
        {"label": "First name", "alias": "firstname", "type": "text"},
        {"label": "CV", "alias": "cv", "type": "file", "save_result": cv_saved,
         "properties": {"allowed_extensions": ["txt", "pdf"], "max_size_mb": cv_mb}},
        {"label": "Photo", "alias": "photo", "type": "file", "properties": {"allowed_extensions": ["txt"], "max_size_mb": 5}},
    ]
    with session() as s:
        form = forms.save_form(session=s, form_id=None, values={"name": "Apply"}, fields=fields, actions=actions or [])
        s.commit()
        return form.id


def flush() -> None:
    if redis_queue.enabled():
        form_posts.drain_submissions(linger=0)


def send(site, form_id: int, *, files=None, ajax: bool = True, **fields):
    data = {f"mauticform[{k}]": v for k, v in fields.items()} | {"mauticform[formId]": str(form_id)}
    reply = site.post("/form/submit" + ("?ajax=1" if ajax else ""), data=data, files=files, follow_redirects=False)
    flush()
    return reply


def kept_files() -> list[bytes]:
    """The content of every file kept for any form."""
    root = forms.uploads_root()
    return sorted(p.read_bytes() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def files_anywhere_with(content: bytes) -> list:
    return [p for p in get_settings().data_dir.rglob("*") if p.is_file() and content in p.read_bytes()]


def submissions(session) -> list[dict]:
    with session() as s:
        return list(s.execute(sa.select(FormSubmission.values).order_by(FormSubmission.id)).scalars())


# ---------------------------------------------------------------- uploads


def test_a_file_under_a_name_the_form_has_no_file_field_for_is_not_stored(site, session):
    form_id = make_form(session)
    r = send(site, form_id, email="ann@example.com", files=[
        ("mauticform[firstname]", ("a.txt", PAYLOAD + b"1", "text/plain")),  # a text field
        ("mauticform[nosuch]", ("b.txt", PAYLOAD + b"2", "text/plain")),  # no field at all
        ("somethingelse", ("c.txt", PAYLOAD + b"3", "text/plain")),  # not a form value
        ("mauticform[cv]", ("cv.txt", b"my cv", "text/plain")),
    ])
    assert r.status_code == 200 and r.json()["success"] == 1, r.text
    assert kept_files() == [b"my cv"]
    assert files_anywhere_with(PAYLOAD) == []
    [values] = submissions(session)
    assert set(values) == {"email", "cv"} and values["cv"]["filename"] == "cv.txt"


def test_a_file_field_that_keeps_no_result_keeps_no_file(site, session):
    form_id = make_form(session, cv_saved=False)
    assert send(site, form_id, email="bo@example.com", files={"mauticform[cv]": ("cv.txt", PAYLOAD, "text/plain")}).json()["success"] == 1
    assert kept_files() == [] and files_anywhere_with(PAYLOAD) == []
    assert submissions(session) == [{"email": "bo@example.com"}]


def test_a_file_over_its_fields_size_is_refused_never_kept_cut(site, session):
    form_id = make_form(session, cv_mb=0.1)
    big = b"x" * (110 * 1024)
    r = send(site, form_id, email="cy@example.com", files={"mauticform[cv]": ("cv.txt", big, "text/plain")})
    assert r.json() == {"success": 0, "validationErrors": {"cv": "The file is larger than 0.1 MB."},
                        "errorMessage": "Please correct the fields marked."}
    page = send(site, form_id, ajax=False, email="cy@example.com", files={"mauticform[cv]": ("cv.txt", big, "text/plain")})
    assert page.status_code == 400 and "The file is larger than 0.1 MB." in page.text
    assert kept_files() == [] and submissions(session) == []
    # Another field's refusal removes the file that was fine.
    r = send(site, form_id, email="not-an-email", files={"mauticform[cv]": ("cv.txt", b"fine", "text/plain")})
    assert set(r.json()["validationErrors"]) == {"email"} and kept_files() == []
    # Just under the cap is kept whole.
    ok = b"y" * (100 * 1024)
    assert send(site, form_id, email="cy@example.com", files={"mauticform[cv]": ("cv.txt", ok, "text/plain")}).json()["success"] == 1
    assert kept_files() == [ok]


def _multipart(form_id: int, parts: list[tuple[str, str | None, bytes]], boundary: str = "attackerboundary") -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def _raw_post(body_chunks: Iterator[bytes], *, headers: dict[str, str], end: str) -> tuple[int, int]:
    """POST /form/submit?ajax=1 straight to the app as a server would pass it on, the body in
    ``body_chunks``; ``end`` is "complete" or "disconnect" (the visitor goes away mid-body).
    Returns (status answered, body bytes the app read)."""
    from mautic_app.web.app import build_public_app

    read = 0
    answer: list[int] = []

    async def receive():
        nonlocal read
        chunk = next(body_chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"} if end == "disconnect" else {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send_(message):
        if message["type"] == "http.response.start":
            answer.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/form/submit", "raw_path": b"/form/submit", "query_string": b"ajax=1", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": (VISITOR_IP, 50001), "server": ("testserver", 80)}
    asyncio.run(build_public_app()(scope, receive, send_))
    return answer[0], read


def test_a_chunked_body_without_a_length_is_cut_off_at_the_cap_with_413(site, session):
    from mautic_app.web.forms import MAX_POST_WITH_FILES

    form_id = make_form(session)
    head = _multipart(form_id, [("mauticform[formId]", None, str(form_id).encode()), ("mauticform[email]", None, b"dee@example.com")])
    head = head[: -len("--attackerboundary--\r\n")]
    head += b'--attackerboundary\r\nContent-Disposition: form-data; name="mauticform[photo]"; filename="big.txt"\r\n\r\n'

    def endless() -> Iterator[bytes]:
        yield head
        while True:
            yield PAYLOAD * 64  # 68 KB at a time, for ever

    status, read = _raw_post(endless(), headers={"content-type": "multipart/form-data; boundary=attackerboundary",
                                                 "transfer-encoding": "chunked"}, end="complete")
    assert status == 413
    assert read <= MAX_POST_WITH_FILES + len(PAYLOAD) * 64  # it stopped reading at the cap
    assert kept_files() == [] and files_anywhere_with(b"ATTACKER-PAYLOAD") == [] and submissions(session) == []
    # The same through an HTTP client: a streamed body over the cap without a Content-Length.
    body = _multipart(form_id, [("mauticform[formId]", None, str(form_id).encode()),
                                ("mauticform[photo]", "big.txt", b"z" * (MAX_POST_WITH_FILES + 1))])
    r = site.post("/form/submit?ajax=1", content=iter([body[i:i + MB] for i in range(0, len(body), MB)]),
                  headers={"Content-Type": "multipart/form-data; boundary=attackerboundary"})
    assert r.status_code == 413 and r.json()["errorMessage"] == "The form is too large to send."
    assert kept_files() == []
    # A declared length over the cap is refused before a byte is read.
    status, read = _raw_post(iter([b"x"]), headers={"content-type": "multipart/form-data; boundary=attackerboundary",
                                                    "content-length": str(MAX_POST_WITH_FILES + 1)}, end="complete")
    assert (status, read) == (413, 0)


def test_a_post_cut_mid_body_leaves_no_file(site, session):
    form_id = make_form(session)
    body = _multipart(form_id, [("mauticform[formId]", None, str(form_id).encode()), ("mauticform[email]", None, b"eve@example.com"),
                                ("mauticform[cv]", "cv.txt", PAYLOAD),  # a whole file part first
                                ("mauticform[photo]", "photo.txt", PAYLOAD * 2048)])  # 2 MB: past the in-memory spool
    cut = body[: len(body) - MB]

    status, read = _raw_post(iter([cut[i:i + 64 * 1024] for i in range(0, len(cut), 64 * 1024)]),
                             headers={"content-type": "multipart/form-data; boundary=attackerboundary",
                                      "content-length": str(len(body))}, end="disconnect")
    assert read == len(cut) and status == 400
    flush()
    assert kept_files() == [] and files_anywhere_with(b"ATTACKER-PAYLOAD") == [] and submissions(session) == []


def test_uploads_are_refused_once_the_quota_is_reached(site, session, override_settings):
    override_settings(upload_quota_mb=1)
    form_id = make_form(session, cv_mb=1)
    elsewhere = forms.upload_folder(form_id + 1000)  # what another server kept: counted from the disk
    elsewhere.mkdir(parents=True)
    (elsewhere / ("0" * 24 + "_old.txt")).write_bytes(b"o" * (300 * 1024))
    part = b"p" * (300 * 1024)
    for n in range(2):
        r = send(site, form_id, email=f"f{n}@example.com", files={"mauticform[cv]": ("cv.txt", part, "text/plain")})
        assert r.json()["success"] == 1, r.text
    r = send(site, form_id, email="f2@example.com", files={"mauticform[cv]": ("cv.txt", part, "text/plain")})
    assert r.status_code == 507
    assert r.json()["errorMessage"] == "This site cannot take more uploaded files now. Please try again later."
    page = send(site, form_id, ajax=False, email="f2@example.com", files={"mauticform[cv]": ("cv.txt", part, "text/plain")})
    assert page.status_code == 507 and "cannot take more uploaded files" in page.text
    assert len(kept_files()) == 3 and len(submissions(session)) == 2
    # Posts without files still go through; a refused post's file frees its space at once.
    assert send(site, form_id, email="f3@example.com").json()["success"] == 1
    assert send(site, form_id, email="bad", files={"mauticform[cv]": ("cv.txt", b"s" * 100, "text/plain")}).json()["success"] == 0
    assert send(site, form_id, email="f4@example.com", files={"mauticform[cv]": ("cv.txt", b"s" * 100, "text/plain")}).json()["success"] == 1
    override_settings(upload_quota_mb=0)  # no files at all
    r = send(site, form_id, email="f5@example.com", files={"mauticform[cv]": ("cv.txt", b"t", "text/plain")})
    assert r.status_code == 507 and len(kept_files()) == 4


def test_a_queued_post_the_writer_cannot_keep_leaves_no_file(site, session):
    if not redis_queue.enabled():
        pytest.skip("the queue exists with Redis only")
    form_id = make_form(session)
    data = {"mauticform[formId]": str(form_id), "mauticform[email]": "gus@example.com"}
    r = site.post("/form/submit?ajax=1", data=data, files={"mauticform[cv]": ("cv.txt", b"queued cv", "text/plain")})
    assert r.json()["success"] == 1 and kept_files() == [b"queued cv"]  # kept while it waits for the writer
    with session() as s:
        forms.delete_forms(session=s, form_ids=[form_id])
        s.commit()
    flush()
    assert kept_files() == [] and submissions(session) == []


# ---------------------------------------------------------------- outgoing requests (a form's re-post)


class Recorder(ThreadingHTTPServer):
    """A local web server that records every request it gets and answers ``reply``."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", family: socket.AddressFamily = socket.AF_INET):
        self.address_family = family
        super().__init__((host, 0), _Handler)
        self.hits: list[tuple[str, str, bytes]] = []
        self.reply: tuple[int, dict[str, str]] = (200, {})
        self.drip = False
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        server: Recorder = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        server.hits.append((self.command, self.path, body))
        if server.drip:  # a byte now and then, for ever: only a total deadline ends it
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            try:
                for _ in range(300):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        status, headers = server.reply
        self.send_response(status)
        for k, v in (headers | {"Content-Length": "2"}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _any

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    s = Recorder()
    yield s
    s.shutdown()
    s.server_close()


@pytest.fixture
def server6() -> Iterator[Recorder]:
    s = Recorder("::1", socket.AF_INET6)
    yield s
    s.shutdown()
    s.server_close()


@pytest.fixture
def dns(monkeypatch) -> dict[str, list[str]]:
    """Names an attacker controls, resolving where they like; other names resolve as usual."""
    names: dict[str, list[str]] = {}
    real = outgoing._resolve
    monkeypatch.setattr(outgoing, "_resolve", lambda host, port: names[host] if host in names else real(host, port))
    return names


@pytest.fixture
def reposts(monkeypatch) -> list[int]:
    """Re-posts the routes and the writer queue; the test runs them as the worker would."""
    queued: list[int] = []
    monkeypatch.setattr(db, "send_task", lambda task, *args: queued.append(args[0]) if task == forms.REPOST_TASK else None)
    return queued


def repost_to(site, session, reposts, url: str, *, via_save: bool = False) -> None:
    """A form whose re-post action points at ``url`` takes a submission; its re-post runs.

    Unless ``via_save``, the URL is put in place after saving (saving refuses private hosts): as a
    form saved before its host's DNS changed, or by an older version."""
    from mautic_app.tasks.forms import repost

    action = {"type": "form.repost", "properties": {"post_url": url if via_save else "https://hooks.example.com/in"}}
    form_id = make_form(session, actions=[action])
    if not via_save:
        with session() as s:
            row = s.execute(sa.select(FormAction).where(FormAction.form_id == form_id)).scalar_one()
            row.properties = {"post_url": url, "failure_email": ""}
            s.commit()
    assert send(site, form_id, email="ann@example.com", firstname="Ann").json()["success"] == 1
    assert len(reposts) == 1
    repost(reposts.pop())


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://2130706433:{port}/hook",  # 127.0.0.1 as one number
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped IPv6
    "http://[::1]:{port6}/hook",
    "http://10.0.0.7:{port}/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://public-looking.example:{port}/hook",  # a public name whose DNS answers 127.0.0.1
])
def test_a_repost_to_an_internal_address_is_refused_before_any_request(site, session, reposts, server, server6, dns, caplog, url):
    dns["public-looking.example"] = ["127.0.0.1"]
    with caplog.at_level(logging.WARNING, logger="mautic_app.tasks.forms"):
        repost_to(site, session, reposts, url.format(port=server.port, port6=server6.port))
    assert server.hits == [] and server6.hits == []
    [message] = [r.getMessage() for r in caplog.records if "re-posting" in r.getMessage()]
    assert "refused" in message and "the server does not send to it" in message, message


def test_a_redirect_to_a_private_address_is_not_followed(site, session, reposts, server, dns, override_settings, caplog):
    inside = Recorder()
    try:
        dns["partner.test"] = ["127.0.0.1"]
        override_settings(outgoing_allow_private=("partner.test",))  # the admin allows this one host, not its neighbours
        server.reply = (307, {"Location": f"http://127.0.0.1:{inside.port}/stolen"})
        with caplog.at_level(logging.WARNING, logger="mautic_app.tasks.forms"):
            repost_to(site, session, reposts, f"http://partner.test:{server.port}/hook", via_save=True)
        assert [(m, p) for m, p, _ in server.hits] == [("POST", "/hook")]
        assert inside.hits == []
        assert any("127.0.0.1 is a loopback address" in r.getMessage() for r in caplog.records)
    finally:
        inside.shutdown()
        inside.server_close()


def test_a_private_range_an_administrator_allows_is_reached(site, session, reposts, server, override_settings):
    other = Recorder()
    try:
        override_settings(outgoing_allow_private=("127.0.0.0/8",))
        server.reply = (307, {"Location": f"http://127.0.0.1:{other.port}/final"})  # each hop is checked, and allowed
        repost_to(site, session, reposts, f"http://127.0.0.1:{server.port}/hook", via_save=True)
        assert [(m, p) for m, p, _ in server.hits] == [("POST", "/hook")]
        [(method, path, body)] = other.hits
        assert (method, path) == ("POST", "/final")
        assert b"mauticform%5Bemail%5D=ann%40example.com" in body and b"mauticform%5Bfirstname%5D=Ann" in body
    finally:
        other.shutdown()
        other.server_close()


def test_a_failing_site_is_retried_and_a_slow_one_times_out(site, session, reposts, server, override_settings):
    override_settings(outgoing_allow_private=("127.0.0.1",))
    server.reply = (500, {})
    with pytest.raises(RuntimeError, match="answered 500"):  # called directly, retry raises the failure
        repost_to(site, session, reposts, f"http://127.0.0.1:{server.port}/hook", via_save=True)
    server.drip = True
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        outgoing.send("POST", f"http://127.0.0.1:{server.port}/slow", content=b"x", total_seconds=1.0)
    assert time.monotonic() - started < 3


def test_saving_a_repost_url_says_when_its_host_is_private(api, override_settings):
    names = iter(range(100))

    def action_error(url: str):
        r = api.post("/api/forms/new", json={"name": f"Hook {next(names)}", "actions": [{"type": "form.repost", "properties": {"post_url": url}}]})
        return r.status_code, r.json()["errors"][0]["details"].get("actions.0.properties.post_url") if r.status_code == 400 else None

    assert action_error("gopher://127.0.0.1:6379/_FLUSHALL") == (400, ["URL: enter an http(s) address."])
    status, [message] = action_error("http://127.0.0.1:6379/")
    assert status == 400 and message.startswith("URL: 127.0.0.1 is a loopback address: the server does not send to it")
    assert "MAUTIC_OUTGOING_ALLOW_PRIVATE" in message
    assert "a private address" in action_error("http://10.1.2.3/hook")[1][0]
    assert "cloud metadata" in action_error("http://169.254.169.254/latest/")[1][0]
    assert action_error("https://hooks.example.com/in")[0] == 201  # a host not found now is checked when sending
    override_settings(outgoing_allow_private=("10.0.0.0/8",))
    assert action_error("http://10.1.2.3/hook")[0] == 201
