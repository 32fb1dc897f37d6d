"""A segment e-mail broadcast to 100,000 contacts through SMTP, against a raw ``smtplib`` loop.

The SMTP server is aiosmtpd in another process, accepting everything (``bench.email sink``). Ours is the
real engine (``services.email_sends.run_broadcast``, the body of the Celery task) on PostgreSQL: claiming
contacts in the send ledger, rendering each message (tokens, tracked links, headers), sending over the
transport's pool of connections and recording every outcome. The baseline sends the same pre-rendered
messages over the same number of connections with nothing else: the physical limit of this sink here.
Rendering alone is reported too.

Then the open pixel and click redirects through the production web server (the embedded default, SQLite),
driven by ``wrk`` over 200 recipients' messages, against ``GET /ping`` of the same server.
"""

from __future__ import annotations

import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import psycopg
import sqlalchemy as sa

from bench.common import report, scratch_database, scratch_folder, use_database
from bench.load import wrk
from bench.server import app_server

CONTACTS = int(os.environ.get("BENCH_EMAIL_CONTACTS", "100000"))
HTML = """<html><body><h1>Hello {contactfield=firstname|there}</h1>
<p>Our autumn offers are here, {contactfield=firstname}. <a href="https://shop.example/offers?src=mail">See them</a>
or <a href="https://shop.example/account">visit your account</a>.</p>
<p><a href="{unsubscribe_url}">Unsubscribe</a> - <a href="{webview_url}">View in your browser</a></p></body></html>"""


def sink_main(port: int) -> None:
    """The SMTP server: takes every message and drops it."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
            return "250 OK"

    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(db, n: int) -> int:
    from mautic_app.models import Email, EmailSegment
    from mautic_app.models.base import utcnow
    from mautic_app.services import bulk, segments

    with db.session_scope() as session:
        seg = segments.save_segment(session=session, values={"name": "Everyone"})
        seg_id = seg.id
    now = utcnow()
    for start in range(0, n, 10_000):
        with db.session_scope() as session:
            ids = bulk.new_contacts(session=session, rows=[
                {"email": f"person{i}@example{i % 50}.com", "firstname": f"First{i}", "lastname": f"Last{i}"}
                for i in range(start, min(n, start + 10_000))])
            bulk.insert_rows(session=session, table=sa.table("segment_contacts", sa.column("segment_id"), sa.column("contact_id"),
                                                             sa.column("date_added"), sa.column("manually_added"), sa.column("manually_removed")),
                             columns=("segment_id", "contact_id", "date_added", "manually_added", "manually_removed"),
                             rows=[(seg_id, cid, now, False, False) for cid in ids])
    with db.session_scope() as session:
        email = Email(name="Autumn offers", email_type="list", subject="{contactfield=firstname}, autumn offers inside",
                      custom_html=HTML, from_address="news@shop.example", from_name="Shop")
        session.add(email)
        session.flush()
        session.add(EmailSegment(email_id=email.id, segment_id=seg_id))
        return email.id


def _raw_loop(port: int, messages: list[tuple[str, bytes]], connections: int) -> float:
    """The same messages over ``connections`` plain smtplib connections, in threads."""
    chunks = [messages[i::connections] for i in range(connections)]

    def send(chunk: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for to, data in chunk:
                smtp.sendmail("news@shop.example", [to], data)

    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def run() -> None:
    port = _free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.email", "sink", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        os.environ["MAUTIC_MAILER_DSN"] = f"smtp://127.0.0.1:{port}"
        with scratch_database("mautic_bench_email") as url:
            db = use_database(url)
            from mautic_app.services import email_sends, mailer

            t0 = time.perf_counter()
            email_id = _seed(db, CONTACTS)
            print(f"seeded {CONTACTS:,} contacts in one segment in {time.perf_counter() - t0:.1f} s", flush=True)
            with psycopg.connect(url, autocommit=True) as conn:  # what autovacuum has done by the time a marketer sends
                conn.execute("VACUUM ANALYZE")
            with db.session_scope() as session:
                send_id = email_sends.start_broadcast(session=session, email_id=email_id).id
                connections = mailer.config(session=session).pool_size
            t0 = time.perf_counter()
            while email_sends.run_broadcast(send_id=send_id, chain="bench", seconds=60):
                pass
            ours = time.perf_counter() - t0
            with db.session_scope() as session:
                done = email_sends.progress(session=session, send_id=send_id)
                assert done["sent"] == CONTACTS, done
                # the same messages, rendered again outside the engine for the baseline and the render rate
                from sqlmodel import select

                from mautic_app.models import Email, EmailStat

                email = session.get(Email, email_id)
                content = email_sends._prepare(session, email, mailer.config(session=session))
                stats = session.exec(select(EmailStat).where(EmailStat.send_id == send_id).order_by(EmailStat.id)).all()
                recipients = [email_sends.Recipient(st.id, st.contact_id, st.email_address, st.tracking_hash, st.message_id,
                                                    {"firstname": f"First{i}", "email": st.email_address}) for i, st in enumerate(stats)]
            t0 = time.perf_counter()
            rendered = [(r.address, email_sends.render(content, r).data) for r in recipients]
            render_s = time.perf_counter() - t0
            raw = _raw_loop(port, rendered, connections)
        print(f"broadcast: {CONTACTS / ours:,.0f} messages/s (goal >= 500) over {connections} connections; "
              f"raw smtplib {CONTACTS / raw:,.0f}/s; rendering alone {CONTACTS / render_s:,.0f} messages/s", flush=True)
        report(f"broadcast {CONTACTS // 1000}k vs raw smtplib (msg/s)", CONTACTS / ours, CONTACTS / raw, unit="/s",
               goal="goal: ratio >= 0.7 and >= 500/s")
    finally:
        os.environ.pop("MAUTIC_MAILER_DSN", None)  # the benches after this one (campaigns) start their own sink
        sink.terminate()
        sink.wait()


TRACKING_SECONDS = int(os.environ.get("BENCH_EMAIL_TRACKING_SECONDS", "6"))
PATHS_LUA = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def _seed_tracking(sqlite_path) -> tuple[list[str], list[str]]:
    """200 delivered messages of one e-mail with one link, written into the running app's database."""
    import secrets

    from mautic_app.models import Email, EmailLink, EmailStat

    db = use_database(f"sqlite:///{sqlite_path}", data_dir=sqlite_path.parent)
    with db.session_scope() as session:
        email = Email(name="Bench", subject="Bench", custom_html="<p>x</p>")
        session.add(email)
        session.flush()
        link = EmailLink(email_id=email.id, url="https://shop.example/offer", redirect_id=secrets.token_urlsafe(12))
        session.add(link)
        hashes = [secrets.token_urlsafe(24) for _ in range(200)]
        session.add_all([EmailStat(email_id=email.id, tracking_hash=h, status="sent", source="broadcast") for h in hashes])
        redirect = link.redirect_id
    return [f"/email/{h}.gif" for h in hashes], [f"/r/{redirect}?ct={h}" for h in hashes]


def run_tracking() -> None:
    with scratch_folder("mautic-bench-email-tracking") as folder, app_server(folder, database_url=None, redis_url=None) as app:
        pixels, clicks = _seed_tracking(app.sqlite_path)
        rates: dict[str, list[float]] = {"ping": [], "pixel": [], "click": []}
        scripts = {"ping": None, "pixel": PATHS_LUA % {"paths": ",".join(f'"{p}"' for p in pixels)},
                   "click": PATHS_LUA % {"paths": ",".join(f'"{p}"' for p in clicks)}}
        for name, script in scripts.items():  # warm-up
            wrk(app.base + ("/ping" if name == "ping" else "/"), script, 1, 32, app.folder)
        answered = {"pixel": 0, "click": 0}
        for _ in range(2):
            for name, script in scripts.items():
                result = wrk(app.base + ("/ping" if name == "ping" else "/"), script, TRACKING_SECONDS / 2, 32, app.folder)
                good = result.ok + result.count(302)
                rates[name].append(result.rate * good / result.requests if result.requests else 0.0)
                answered[name] = answered.get(name, 0) + good
        time.sleep(3)  # the writer finishes what it holds
        with sqlite3.connect(app.sqlite_path) as conn:
            stored = conn.execute("SELECT coalesce(sum(open_count), 0) FROM email_stats").fetchone()[0]
            clicked = conn.execute("SELECT count(*) FROM email_clicks").fetchone()[0]
    ping = sum(rates["ping"]) / 2
    report("open pixel/s vs GET /ping (embedded)", sum(rates["pixel"]) / 2, ping, unit="/s", goal="goal: ratio >= 0.5")
    report("click redirects/s vs GET /ping (embedded)", sum(rates["click"]) / 2, ping, unit="/s", goal="goal: ratio >= 0.5")
    print(f"{'opens stored / pixels answered (incl. warm-up)':<48} stored {stored}  answered (timed rounds) {answered['pixel']}  "
          "(clicks count an open only for an unread message)", flush=True)
    print(f"{'clicks stored / redirects (incl. warm-up)':<48} stored {clicked}  answered (timed rounds) {answered['click']}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sink"]:
        sink_main(int(sys.argv[2]))
    elif sys.argv[1:2] == ["tracking"]:
        run_tracking()
    else:
        run()
        run_tracking()
