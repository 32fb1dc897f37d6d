"""End-to-end fixtures: the real app started as ``make run`` starts it, driven in Chromium.

The server runs once per session on a free port with its own data folder (SQLite, filesystem
Celery broker, demo data) and a known admin password.

Every test fails on what a user would notice even when its own checks pass (``user_visible_errors``):
an error in the console or an uncaught exception of any page it opened, and an event that failed
on the server (Reflex logs it and shows the user an "An error occurred." toast).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, WebError, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin-password"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
expect.set_options(timeout=15_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Variables through which an app started here would reach a developer's own app: its database, Redis,
# data folder (MAUTIC_*), Celery broker (CELERY_BROKER_URL wins over the app's own setting), and Reflex's
# state manager, states and uploads folders (REFLEX_*, e.g. REFLEX_REDIS_URL).
SHARED_ENV_PREFIXES = ("MAUTIC_", "CELERY_", "REFLEX_")
NESTED_CHECKOUT = "a second database connection was taken by a thread that holds one"


def isolated_env(data: Path) -> dict[str, str]:
    """The environment for an app of the tests' own: the embedded default (SQLite, filesystem broker, no
    Redis) entirely under ``data``. Reflex's page states and uploads, by default ``.states`` and
    ``uploaded_files`` in the project (where ``make run`` keeps them), go under ``data`` too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SHARED_ENV_PREFIXES)}
    return env | {"MAUTIC_DATA_DIR": str(data), "REFLEX_STATES_WORKDIR": str(data / "states"),
                  "REFLEX_UPLOADED_FILES_DIR": str(data / "uploaded_files")}


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> dict:
    data = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    env = isolated_env(data)
    # The app refuses a second database connection to a thread that holds one (tests/conftest.py).
    # The campaign engine's clock reads this file's offset: a test moves days forward without waiting (mautic_app.clock).
    env |= {"MAUTIC_ADMIN_PASSWORD": ADMIN_PASSWORD, "MAUTIC_PORT": str(port), "MAUTIC_STRICT_CONNECTIONS": "1",
            "MAUTIC_CLOCK_FILE": str(data / "clock")}
    log_dir = data / "logs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mautic_app.launcher", "--demo", "--port", str(port), "--log-dir", str(log_dir)],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(base + "/ping", timeout=2) as r:
                ready = r.status == 200
        except OSError:
            pass
        if ready:
            break
        time.sleep(1)
    if not ready:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        logs = "".join(p.read_text(errors="replace")[-4000:] for p in log_dir.glob("*.log")) if log_dir.exists() else ""
        pytest.fail(f"app did not start: {proc.stdout.read().decode(errors='replace') if proc.poll() is not None else ''}\n{logs}")
    yield {"base_url": base, "data_dir": data, "env": env, "admin_password": ADMIN_PASSWORD}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    nested = [line for log in log_dir.glob("*.log") for line in log.read_text(errors="replace").splitlines()
              if NESTED_CHECKOUT in line]
    assert not nested, f"the app took a second database connection in a thread holding one ({len(nested)}x): see {log_dir}"


# What the app's logs say when a user saw something fail: Reflex's line for an event handler that raised
# (the user gets an error toast), and the app's own for an error a browser reported (ui/browser_errors.py).
SERVER_ERROR_MARKS = ("[Reflex Backend Exception]", "Error in a browser:")
# Console errors that no user notices, each with why: the browser asks every site for its icon by itself and
# logs the 404 of the test's own sites (other_site), which have none.
HARMLESS_FAILED_LOADS = ("/favicon.ico",)


class UserVisibleErrors:
    """The console errors and uncaught exceptions of every page of the browser contexts it watches."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", self._uncaught)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "") if message.location else ""  # the failed resource, for a load error
        if message.text.startswith("Failed to load resource") and urlsplit(source).path in HARMLESS_FAILED_LOADS:
            return
        page = message.page.url if message.page else "?"
        self.found.append(f"console error on {page}: {message.text}" + (f" ({source})" if source != page else ""))

    def _uncaught(self, error: WebError) -> None:
        self.found.append(f"uncaught exception on {error.page.url if error.page else '?'}: {error.error}")


class WatchedBrowser:
    """The session's browser; every context a test opens (and so every page in it) is watched."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self.errors = UserVisibleErrors()

    def new_context(self, **options) -> BrowserContext:
        context = self._browser.new_context(**options)
        self.errors.watch(context)
        return context

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser() -> Iterator[WatchedBrowser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield WatchedBrowser(b)
        b.close()


def _log_sizes(log_dir: Path) -> dict[Path, int]:
    return {log: log.stat().st_size for log in log_dir.glob("*.log")}


def _read_since(log: Path, since: dict[Path, int]) -> str:
    with log.open("rb") as f:
        f.seek(since.get(log, 0))
        return f.read().decode(errors="replace")


def _logged_since(log_dir: Path, since: dict[Path, int]) -> str:
    """Every app log's lines written since ``since``, each headed by its file's name."""
    return "".join(f"== {log.name}\n{new}" for log in sorted(log_dir.glob("*.log")) if (new := _read_since(log, since)))


def _server_errors(log_dir: Path, since: dict[Path, int]) -> list[str]:
    """The lines of the app's logs, written since ``since``, that say a user saw something fail."""
    found = []
    for log in log_dir.glob("*.log"):
        for i, line in enumerate(lines := _read_since(log, since).splitlines()):
            if any(mark in line for mark in SERVER_ERROR_MARKS):
                found.append(f"{log.name}: " + "\n".join(lines[i:i + 25]))
    return found


_CHECK_USER_VISIBLE_ERRORS = pytest.StashKey[Callable[[], list[str]]]()
_APP_LOG_SINCE = pytest.StashKey[Callable[[], str]]()


@pytest.fixture(autouse=True)
def user_visible_errors(request) -> None:
    """Watch for a console error, an uncaught exception or a failed event in any page the test opens, and
    for a server-side event error logged while it runs; the test fails on any (``pytest_runtest_call``)."""
    if "app_server" not in request.fixturenames:
        return
    log_dir = request.getfixturevalue("app_server")["data_dir"] / "logs"
    watched: WatchedBrowser | None = request.getfixturevalue("browser") if "browser" in request.fixturenames else None
    if watched:
        watched.errors.found.clear()
    before = _log_sizes(log_dir)
    request.node.stash[_CHECK_USER_VISIBLE_ERRORS] = lambda: (watched.errors.found if watched else []) + _server_errors(log_dir, before)
    request.node.stash[_APP_LOG_SINCE] = lambda: _logged_since(log_dir, before)


def _describe_failure(item: pytest.Item) -> None:
    page = item.funcargs.get("signed_in") or item.funcargs.get("page")
    if isinstance(page, Page) and not page.is_closed():
        try:
            shown = page.locator("body").inner_text(timeout=2_000)
        except Exception as exc:  # noqa: BLE001 - the page may be gone; the report says so
            shown = f"(unreadable: {exc})"
        item.add_report_section("call", "page", f"{page.url}\n{shown[-6000:]}")
    if (logged := item.stash.get(_APP_LOG_SINCE, None)) and (lines := logged()):
        item.add_report_section("call", "app log", lines[-8000:])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test's own checks passed, fail it (as a failure, not a teardown error) on what a user saw.
    A failed test's report also shows where its page was, what it read and what the app logged meanwhile,
    so a failure seen once in CI can be understood from its log."""
    try:
        result = yield
    except Exception:
        _describe_failure(item)
        raise
    if (check := item.stash.get(_CHECK_USER_VISIBLE_ERRORS, None)) and (found := check()):
        pytest.fail(f"{len(found)} error(s) a user would notice:\n" + "\n\n".join(found[:10]), pytrace=False)
    return result


def new_uid() -> str:
    """A few random characters that keep a test's names apart from every other test's."""
    return uuid.uuid4().hex[:8]


def run_service(app_server: dict, body: str):
    """Run ``body`` in another process with the app's environment, as a worker or the API would, with ``json``,
    ``session_scope`` and the ``companies`` and ``contacts`` services imported; it prints one JSON line, returned here."""
    script = "import json\nfrom mautic_app.db import session_scope\nfrom mautic_app.services import companies, contacts\n" + body
    result = subprocess.run([sys.executable, "-c", script], env=app_server["env"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def log_in(page: Page, base_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Account menu")).to_be_visible()


def reopen(page: Page, url: str | None = None) -> None:
    """Load a page (again) with a new state token, so what it shows was read from the database.

    On a reload Reflex hands the tab back the state it kept, before the page's own load runs: a
    check after a plain reload can pass on what the page showed before, and a click can land on
    controls the load then replaces. The login cookie stays.
    """
    page.evaluate("window.sessionStorage.removeItem('token')")
    if url is None:
        page.reload()
    else:
        page.goto(url)


@pytest.fixture
def base_url(app_server) -> str:
    return app_server["base_url"]


@pytest.fixture
def page(browser: WatchedBrowser, base_url) -> Page:
    """A fresh browser context at 1400x900 (the desk size the first-hour review used), not signed in."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)  # the Copy buttons are tested
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def signed_in(page, base_url) -> Page:
    """A page signed in as the admin, on the dashboard."""
    log_in(page, base_url)
    return page


# Mautic's standard snippet as a site pastes it; the page marks itself once its hit is answered.
TRACKING_SNIPPET = """<script>
    (function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    }})(window,document,'script','{base}/mtc.js','mt');
    mt('send', 'pageview', {{}}, {{onload: function() {{ document.body.dataset.tracked = 'yes'; }}}});
</script>"""


@contextlib.contextmanager
def other_site(page_for: Callable[[str], str | None]) -> Iterator[str]:
    """A website on another origin (``localhost`` vs the app's ``127.0.0.1``): ``page_for(path)`` gives a
    page's HTML, or None for a 404. Yields the site's base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = page_for(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body if body is not None else "not found").encode())

        def log_message(self, *_args):
            pass

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()


# The WCAG contrast ratio of an element's text against what is behind it: the first ancestor (itself included)
# with a background, translucent backgrounds blended over the ones below them.
_CONTRAST_JS = """e => {
  const rgba = s => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const layers = [];
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const c = rgba(getComputedStyle(n).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  const fg = rgba(getComputedStyle(e).color);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""


def contrast(locator) -> float:
    """How well ``locator``'s text reads on its background (WCAG: 4.5 for body text)."""
    return float(locator.evaluate(_CONTRAST_JS))
