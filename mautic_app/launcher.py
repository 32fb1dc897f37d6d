"""``make run``: migrate, seed, then start the Celery worker (with beat) and the Reflex server.

Everything started here runs in its own process group and stops on Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mautic_app.settings import PROJECT_ROOT
from mautic_app.tasks.celery_app import WRITERS_QUEUE

TOOLS_BIN = PROJECT_ROOT / ".tools" / "node_modules" / ".bin"


def child_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")
    env.setdefault("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org")
    env["MAUTIC_PORT"] = str(port)
    if env.get("MAUTIC_REDIS_URL"):
        # Reflex starts 2 x cores + 1 server processes with Redis; the hit writer and Celery need a
        # core too, and fewer processes batch more hits per Redis round trip (bench/tracking).
        # Without Redis, Reflex keeps page state in one process: it must stay one.
        env.setdefault("GRANIAN_WORKERS", str((os.cpu_count() or 1) + 1))
    if (TOOLS_BIN / "bun").exists():
        env.setdefault("REFLEX_BUN_PATH", str(TOOLS_BIN / "bun"))
    return env


def start(cmd: list[str], env: dict[str, str], log: Path | None, *, nice: int = 0) -> subprocess.Popen:
    out = open(log, "ab") if log else None  # noqa: SIM115  (kept open for the child's lifetime)
    proc = subprocess.Popen(["nice", "-n", str(nice), *cmd] if nice else cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True,
                            stdout=out, stderr=subprocess.STDOUT if out else None)
    if nice:
        _nice_session(proc.pid, nice)
    return proc


def _nice_session(pid: int, nice: int) -> None:
    """Linux's autogroups share the CPU between sessions first and apply nice only inside one, so a
    process niced in a session of its own would still take as much CPU as the whole web server:
    the session itself is niced too."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        pass  # no autogroups (or not allowed): plain nice is all there is


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_ready(port: int, procs: list[subprocess.Popen], timeout: float = 240) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mautic_app.launcher")
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAUTIC_PORT", "3000")))
    parser.add_argument("--demo", action="store_true", help="seed demo data once")
    parser.add_argument("--log-dir", type=Path, default=None, help="write child output to files here")
    args = parser.parse_args(argv)
    env = child_env(args.port)
    python = sys.executable

    subprocess.run([python, "-m", "mautic_app.cli", "bootstrap", *(["--demo"] if args.demo else [])], cwd=PROJECT_ROOT, env=env, check=True)
    log_dir = args.log_dir
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    celery = [python, "-m", "celery", "-A", "mautic_app.tasks.celery_app", "worker", "--loglevel=WARNING",
              "--without-gossip", "--without-mingle"]
    procs = [
        start([*celery, "--concurrency=1", "-B", "-Q", "celery", "-n", "main@%h"], env, log_dir / "celery.log" if log_dir else None),
    ]
    if env.get("MAUTIC_REDIS_URL"):  # hits and submissions queue in Redis only; the embedded default writes them at once
        # Niced: in a burst, answering visitors comes first; the queues hold their posts until the writers
        # catch up. Two processes: the hit writer and the submission writer drain side by side.
        procs.append(start([*celery, "--concurrency=2", "-Q", WRITERS_QUEUE, "-n", "writers@%h"], env,
                           log_dir / "celery-writers.log" if log_dir else None, nice=10))
    procs += [
        start([python, "-m", "reflex", "run", "--env", "prod", "--single-port", "--frontend-port", str(args.port),
               "--backend-port", str(args.port), "--loglevel", "warning"], env, log_dir / "reflex.log" if log_dir else None),
    ]

    def on_signal(signum, _frame):
        stop(procs)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not wait_ready(args.port, procs):
            print("The app did not start; see the output above.", file=sys.stderr)
            stop(procs)
            return 1
        user = os.environ.get("MAUTIC_ADMIN_USER", "admin")
        print(f"\nMautic is running at http://localhost:{args.port}/  (log in as '{user}'; Ctrl-C stops everything)\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("A process stopped; shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(procs)


if __name__ == "__main__":
    sys.exit(main())
