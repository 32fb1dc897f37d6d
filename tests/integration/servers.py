"""The public app served for real (Granian in a child process) on a test's own database and settings.

For tests that need real concurrency or a real process to kill: many clients at once, a burst while
Redis restarts. The server is started as a deployment starts it, with the settings in its environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import mautic_app.settings as settings_module
from mautic_app.settings import PROJECT_ROOT

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**values: str) -> dict[str, str]:
    """The environment of a process started by a test: its settings, never the developer's own; a thread
    taking a second database connection fails at once (and is logged) rather than waiting."""
    cfg = settings_module.get_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAUTIC_", "CELERY_"))}
    return env | {
        "MAUTIC_DATA_DIR": str(cfg.data_dir),
        "MAUTIC_DATABASE_URL": cfg.database_url,
        "MAUTIC_REDIS_URL": cfg.redis_url or "",
        "MAUTIC_SECRET_KEY": cfg.secret_key,
        "MAUTIC_STRICT_CONNECTIONS": "1",
    } | values


@dataclass
class Server:
    base: str
    log: Path
    proc: subprocess.Popen

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- server log ({self.log}) ---\n{text[-chars:]}"

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def start(folder: Path, **env: str) -> Server:
    """Serve ``mautic_app.web.app.standalone_app`` with the current test's settings (``env`` adds to them); returns once
    ``/ping`` answers, or raises ``RuntimeError`` with the end of the server's log."""
    port = free_port()
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--log-level", "warning", "mautic_app.web.app:standalone_app"],
            cwd=PROJECT_ROOT, env=child_env(MAUTIC_PORT=str(port), **env), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(f"http://127.0.0.1:{port}", log_path, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped while starting\n{srv.log_tail()}")
        try:
            with urllib.request.urlopen(srv.base + "/ping", timeout=2):
                return srv
        except OSError:
            if time.monotonic() > deadline:
                srv.stop()
                raise RuntimeError(f"the server did not answer /ping within {START_TIMEOUT:.0f} s\n{srv.log_tail()}") from None
            time.sleep(0.2)
