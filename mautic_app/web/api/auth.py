"""HTTP Basic authentication for the API.

Checking a password costs one argon2 verification (~50 ms), which would dominate API
throughput, so a successful check is remembered for a minute under a keyed hash of the
credentials (never the password itself). Failures are never cached. A user disabled or
re-passworded keeps API access for at most that minute.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
import time

from fastapi import Depends, Request
from fastapi.security import HTTPBasic

from mautic_app.db import session_scope
from mautic_app.services import users
from mautic_app.settings import settings
from mautic_app.web.api.errors import ApiError

CACHE_SECONDS = 60.0
CACHE_SIZE = 4096
REALM = 'Basic realm="Mautic"'
_cache: dict[str, tuple[float, int]] = {}
_lock = threading.Lock()


class BasicCredentials(HTTPBasic):
    """Reads ``Authorization: Basic`` leniently (UTF-8 passwords, no error on junk); also documents the scheme."""

    async def __call__(self, request: Request) -> tuple[str, str] | None:  # type: ignore[override]
        scheme, _, param = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not param.strip():
            return None
        try:
            decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        username, sep, password = decoded.partition(":")
        return (username, password) if sep and username else None


basic = BasicCredentials(auto_error=False, realm="Mautic", description="A Mautic user's username and password.")


def _cache_key(username: str, password: str) -> str:
    message = f"{settings.database_url}\0{username}\0{password}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": REALM})


def authenticate(username: str, password: str) -> int | None:
    """The user id for these credentials, from the cache when recently verified."""
    key = _cache_key(username, password)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit and hit[0] > now:
        return hit[1]
    with session_scope() as session:
        user = users.authenticate(session=session, username=username, password=password)
        user_id = user.id if user else None
    if user_id is not None:
        with _lock:
            if len(_cache) >= CACHE_SIZE:
                _cache.clear()
            _cache[key] = (now + CACHE_SECONDS, user_id)
    return user_id


def api_user(credentials: tuple[str, str] | None = Depends(basic)) -> int:
    """The authenticated user's id; every API route depends on this."""
    if not settings.api_basic_auth:
        raise _unauthorized("Basic authentication is disabled; use OAuth2.")
    if credentials is None:
        raise _unauthorized("API authorization denied: give a username and password (HTTP Basic).")
    user_id = authenticate(*credentials)
    if user_id is None:
        raise _unauthorized("API authorization denied: the username or password is wrong.")
    return user_id
