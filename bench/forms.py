"""Form submissions per second and latency through the production server, against a bare route.

Starts the app (``bench.server``: the production web server and the Celery workers ``make run``
starts) on PostgreSQL and Redis of its own, with ``MAUTIC_BENCH_ROUTES=1`` so ``POST /bench/bare`` answers without doing
any work, and with the per-IP submission limit off (everything comes from 127.0.0.1). A form of
six mapped fields (e-mail, first and last name, company, phone, country) with two actions (+5
points, tag "bench") is made with ``services.forms.save_form`` before the server starts.
``wrk`` (Debian's) drives both routes with the same Lua script posting Mautic's
``mauticform[...]`` names to ``/form/submit?ajax=1``: half the posts reuse the e-mail address of a
seeded contact (a returning contact), half carry a new one (wrk's counter plus its thread id).
Then a paced run near 100 posts/s reports p99. The script counts the answers whose body says
``"success":1``; every one of them must be a row of ``form_submissions``. Last, two sizes: the
embed script ``/form/generate.js`` and a focus item's ``/focus/{id}.js``, gzipped.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import redis

from bench.common import report, scratch_database, scratch_redis, use_database
from bench.load import _ms
from bench.server import app_server

SECONDS = int(os.environ.get("BENCH_FORMS_SECONDS", "15"))
PACED_RATE = int(os.environ.get("BENCH_FORMS_RATE", "100"))
CONNECTIONS = int(os.environ.get("BENCH_FORMS_CONNECTIONS", "16"))
POOL = int(os.environ.get("BENCH_FORMS_CONTACTS", "1000"))  # returning contacts to draw e-mail addresses from
ROOT = Path(__file__).resolve().parent.parent
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
ORIGIN = "https://shop.example"
JS_GOAL_KB, FOCUS_GOAL_KB = 15, 10

FIELDS = [
    {"label": "E-mail", "alias": "email", "type": "email", "is_required": True, "mapped_object": "contact", "mapped_field": "email"},
    {"label": "First name", "alias": "firstname", "type": "text", "mapped_object": "contact", "mapped_field": "firstname"},
    {"label": "Last name", "alias": "lastname", "type": "text", "mapped_object": "contact", "mapped_field": "lastname"},
    {"label": "Company", "alias": "company", "type": "text", "mapped_object": "contact", "mapped_field": "company"},
    {"label": "Phone", "alias": "phone", "type": "tel", "mapped_object": "contact", "mapped_field": "phone"},
    {"label": "Country", "alias": "country", "type": "country", "mapped_object": "contact", "mapped_field": "country"},
]
ACTIONS = [
    {"type": "lead.pointschange", "name": "Score the sign-up", "properties": {"points": 5}},
    {"type": "lead.changetags", "name": "Tag the sign-up", "properties": {"add_tags": ["bench"]}},
]

# One Lua state per wrk thread: ``tid`` comes from setup(), ``ok`` is read back in done().
LUA = r"""
local pool = {%(pool)s}
local run = "%(run)s"
local paced = %(paced)s
local threads = {}
local countries = {"Germany", "France", "Spain", "Italy", "Netherlands", "Poland"}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  ok = 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["User-Agent"] = "%(ua)s"
wrk.headers["Origin"] = "%(origin)s"

function field(name, value)
  return "mauticform%%5B" .. name .. "%%5D=" .. value
end

request = function()
  n = n + 1
  local email
  if n %% 2 == 0 then
    email = pool[(math.floor(n / 2) %% #pool) + 1]
  else
    email = "new-" .. run .. "-" .. tid .. "-" .. n .. "%%40bench.example.com"
  end
  local body = field("email", email) .. "&" .. field("firstname", "Ann") .. "&" .. field("lastname", "Example-" .. (n %% 97))
    .. "&" .. field("company", "Acme+" .. (n %% 13)) .. "&" .. field("phone", "%%2B49+30+" .. (1000000 + n %% 8999999))
    .. "&" .. field("country", countries[(n %% #countries) + 1]) .. "&" .. field("formId", "%(form_id)s")
    .. "&" .. field("return", "")
  return wrk.format(nil, nil, nil, body)
end

response = function(status, headers, body)
  if status >= 200 and status < 300 and string.find(body, '"success":1', 1, true) then
    ok = ok + 1
  end
end

done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("ok") or 0)
  end
  io.write("SUCCEEDED " .. total .. "\n")
end

if paced > 0 then
  -- Each connection waits a random (exponential) time, so posts arrive as visitors do, not in
  -- lockstep bursts of every connection at once (wrk's fixed delay keeps them in step).
  delay = function() return math.floor(-math.log(1 - math.random()) * paced) end
end
"""


def _seed(url: str, data_dir: Path) -> tuple[int, int | None, list[str]]:
    """The bench form, a focus item showing it (when focus items exist), and the returning contacts' e-mails."""
    db = use_database(url, data_dir=data_dir)
    from mautic_app.services import contacts, forms

    emails = [f"known{i}@bench.example.com" for i in range(POOL)]
    with db.session_scope() as session:
        form = forms.save_form(session=session, form_id=None, values={"name": "Bench sign-up", "alias": "bench_signup"},
                               fields=FIELDS, actions=ACTIONS)
        form_id = form.id
        for i, email in enumerate(emails):
            contacts.create(session=session, values={"email": email, "firstname": f"Known{i}"}, source="bench",
                            check_required=False)
    focus_id = None
    try:
        from mautic_app.services import focus
    except ImportError:
        return form_id, None, emails
    try:
        with db.session_scope() as session:
            item = focus.save_focus(session=session, values={"name": "Bench focus", "type": "form", "style": "modal",
                                                             "form_id": form_id, "properties": {}}, replace=True)
            focus_id = item.id
    except Exception as exc:  # noqa: BLE001  (focus items are optional here: report and go on)
        print(f"forms: no focus item to measure ({exc})", file=sys.stderr)
    return form_id, focus_id, emails


def _wrk(url: str, lua: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
                         capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "succeeded": int(re.search(r"SUCCEEDED (\d+)", out).group(1)),
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def _gzipped(url: str) -> tuple[int, int | None]:
    """(HTTP status, size of the body gzipped at level 6 as web servers do) for a GET from a customer's site."""
    req = urllib.request.Request(url, headers={"User-Agent": UA, "Origin": ORIGIN, "Referer": ORIGIN + "/signup"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, len(gzip.compress(r.read(), compresslevel=6))
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _lua(path: Path, *, emails: list[str], form_id: int, run: str, paced: int) -> Path:
    path.write_text(LUA % {"pool": ",".join(f'"{e.replace("@", "%40")}"' for e in emails), "run": run, "paced": paced,
                           "ua": UA, "origin": ORIGIN, "form_id": form_id})
    return path


def _drain(redis_url: str) -> float:
    """Wait until the writer has stored every queued submission; returns how long that took."""
    from mautic_app.queues.form_posts import QUEUE as FORM_QUEUE

    r, t0 = redis.Redis.from_url(redis_url), time.perf_counter()
    while r.llen(FORM_QUEUE):  # submissions leave the queue only once their batch is committed
        if time.perf_counter() - t0 > 1200:
            raise RuntimeError("the form writer did not drain the queue in 20 minutes")
        time.sleep(0.2)
    return time.perf_counter() - t0


def run() -> None:
    if not shutil.which("wrk"):
        print("forms: wrk is missing (make bench installs Debian's wrk)", file=sys.stderr)
        return
    folder = Path(tempfile.mkdtemp(prefix="mautic-bench-forms-"))
    with scratch_redis("forms") as redis_url, scratch_database("mautic_bench_forms") as url:
        form_id, focus_id, emails = _seed(url, folder / "seed")
        with app_server(folder, database_url=url, redis_url=redis_url, MAUTIC_FORM_SUBMITS_PER_MINUTE="0") as app:
            port = app.port
            base = f"http://127.0.0.1:{port}"
            routes = (("bare", "/bench/bare"), ("forms", "/form/submit?ajax=1"))
            warm_ups, results = {}, {}
            for name, path in routes:
                warm_ups[name] = _wrk(base + path, _lua(folder / f"{name}-w.lua", emails=emails, form_id=form_id, run="w", paced=0),
                                      3, CONNECTIONS)
                results[name] = _wrk(base + path, _lua(folder / f"{name}-m.lua", emails=emails, form_id=form_id, run="m", paced=0),
                                     SECONDS, CONNECTIONS)
            burst_stored, burst_wait = _count(url, form_id), _drain(redis_url)  # the paced runs start with the writer idle
            writer_rate = (_count(url, form_id) - burst_stored) / burst_wait if burst_wait > 0.5 else None
            connections = 20
            pace = max(1, int(1000 * connections / PACED_RATE))
            paced = {name: _wrk(base + path, _lua(folder / f"{name}-p.lua", emails=emails, form_id=form_id, run="p", paced=pace),
                                SECONDS, connections) for name, path in routes}
            js_status, js_size = _gzipped(f"{base}/form/generate.js?id={form_id}")
            focus_status, focus_size = _gzipped(f"{base}/focus/{focus_id}.js") if focus_id else (None, None)
            waited = _drain(redis_url)
            stored = _count(url, form_id)
    runs = (warm_ups["forms"], results["forms"], paced["forms"])
    succeeded = sum(r["succeeded"] for r in runs)
    refused = sum(r["requests"] - r["succeeded"] for r in runs)
    if refused:  # keep the server's logs to see why
        print(f"forms: {refused} posts were not successful ({sum(r['non_2xx'] for r in runs)} not 2xx, "
              f"{sum(r['socket_errors'] for r in runs)} socket errors); server logs kept in {folder / 'logs'}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    report("form submissions/s vs bare route (max rate)", results["forms"]["rate"], results["bare"]["rate"], unit="/s",
           goal="goal: ratio >= 0.33")
    report(f"p99 at ~{PACED_RATE}/s (achieved {paced['forms']['rate']:.0f}/s)", paced["forms"]["p99_ms"], paced["bare"]["p99_ms"],
           goal="goal: ours < 100 ms")
    print(f"{'submissions stored / succeeded':<48} stored {stored}  succeeded {succeeded}  not successful {refused}  "
          f"queue drained in {waited:.1f} s  {'no submission lost' if stored >= succeeded else 'SUBMISSIONS LOST'}", flush=True)
    if writer_rate is not None:
        print(f"{'writer after the burst (stored/s while draining)':<48} {writer_rate:.0f}/s", flush=True)
    if js_size is None:
        print(f"{'/form/generate.js gzipped':<48} answered {js_status}: not measured", flush=True)
    else:
        print(f"{'/form/generate.js gzipped':<48} {js_size / 1024:9.2f} KB  goal: < {JS_GOAL_KB} KB  "
              f"{'ok' if js_size < JS_GOAL_KB * 1024 else 'TOO BIG'}", flush=True)
    if focus_size is not None:
        print(f"{'/focus/{id}.js gzipped (form in a modal)':<48} {focus_size / 1024:9.2f} KB  goal: < {FOCUS_GOAL_KB} KB  "
              f"{'ok' if focus_size < FOCUS_GOAL_KB * 1024 else 'TOO BIG'}", flush=True)
    else:
        print(f"{'/focus/{id}.js gzipped':<48} skipped: " + (f"answered {focus_status}" if focus_status else "no focus item"),
              flush=True)


def _count(url: str, form_id: int) -> int:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM form_submissions WHERE form_id = %s", (form_id,)).fetchone()[0]
