"""Every setting, read from the environment once, with defaults for the embedded deployment.

The embedded default needs no server: SQLite under ``var/`` and a filesystem Celery broker.
``MAUTIC_DATABASE_URL`` and ``MAUTIC_REDIS_URL`` switch to PostgreSQL and Redis.

Code reads them through :func:`get_settings` at the moment it needs them, so tests and benchmarks
swap them with :func:`use_settings`; importing this module reads and writes nothing.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@functools.cache
def _stored_secret_key(data_dir: Path) -> str:
    """The signing key kept in the data folder, generated there the first time one is needed."""
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    port: int
    signing_key: str = ""  # MAUTIC_SECRET_KEY; empty: the data folder's own key (see ``secret_key``)
    session_hours: int = 12
    api_enabled: bool = True
    api_basic_auth: bool = True
    import_batch_size: int = 5000
    email_batch_size: int = 1000  # contacts a broadcast claims and sends per transaction pair
    campaign_batch_size: int = 5000  # due campaign events one engine transaction claims and runs
    base_url: str = ""
    trusted_proxies: tuple[str, ...] = ()  # addresses / CIDR ranges whose X-Forwarded-For and -Proto we believe
    form_submits_per_minute: int = 20  # per visitor IP and form; 0 turns the limit off
    upload_quota_mb: int = 1024  # all files visitors upload, together; once reached new uploads are refused
    outgoing_allow_private: tuple[str, ...] = ()  # ranges / host names outgoing requests may reach though private
    extra: dict = field(default_factory=dict)

    @property
    def secret_key(self) -> str:
        return self.signing_key or _stored_secret_key(self.data_dir)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def celery_folder(self) -> Path:
        return self.data_dir / "celery"

    @property
    def import_folder(self) -> Path:
        return self.data_dir / "imports"


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("MAUTIC_DATA_DIR", PROJECT_ROOT / "var")).resolve()
    db_url = os.environ.get("MAUTIC_DATABASE_URL") or f"sqlite:///{data_dir / 'mautic.db'}"
    if db_url.startswith("postgresql://") or db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url.split("://", 1)[1]
    port = int(os.environ.get("MAUTIC_PORT", "3000"))
    return Settings(
        data_dir=data_dir,
        database_url=db_url,
        redis_url=os.environ.get("MAUTIC_REDIS_URL") or None,
        port=port,
        signing_key=os.environ.get("MAUTIC_SECRET_KEY", ""),
        session_hours=int(os.environ.get("MAUTIC_SESSION_HOURS", "12")),
        api_enabled=_flag("MAUTIC_API_ENABLED", True),
        api_basic_auth=_flag("MAUTIC_API_BASIC_AUTH", True),
        import_batch_size=int(os.environ.get("MAUTIC_IMPORT_BATCH_SIZE", "5000")),
        email_batch_size=int(os.environ.get("MAUTIC_EMAIL_BATCH_SIZE", "1000")),
        campaign_batch_size=int(os.environ.get("MAUTIC_CAMPAIGN_BATCH_SIZE", "5000")),
        base_url=os.environ.get("MAUTIC_BASE_URL", f"http://localhost:{port}"),
        trusted_proxies=tuple(p.strip() for p in os.environ.get("MAUTIC_TRUSTED_PROXIES", "").split(",") if p.strip()),
        form_submits_per_minute=int(os.environ.get("MAUTIC_FORM_SUBMITS_PER_MINUTE", "20")),
        upload_quota_mb=int(os.environ.get("MAUTIC_UPLOAD_QUOTA_MB", "1024")),
        outgoing_allow_private=tuple(p.strip() for p in os.environ.get("MAUTIC_OUTGOING_ALLOW_PRIVATE", "").split(",") if p.strip()),
    )


_current: Settings | None = None
_loading = threading.Lock()


def get_settings() -> Settings:
    """The settings in force: read from the environment on first use."""
    global _current
    if _current is None:
        with _loading:
            if _current is None:
                _current = load_settings()
    return _current


def use_settings(new: Settings | None) -> Settings | None:
    """Put ``new`` in force (tests, benchmarks); ``None`` reads the environment again on next use.
    Returns the settings that were in force, to put back."""
    global _current
    previous, _current = _current, new
    return previous
