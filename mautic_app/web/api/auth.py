"""HTTP Basic authentication for the API, with sign-in rate limits and an admins-only check.

Checking a password costs one argon2 verification (~50 ms), which would dominate API
throughput, so a successful check is remembered under a keyed hash of the credentials (never the
password itself) until a user is saved or deleted anywhere (the change feed's ``users`` topic).
Every request still reads its user's row (one primary-key read), so a user disabled, demoted or
given a new password loses the old access at once even if that publication were lost. Credentials remembered this way pass even while their account must wait (only the right
password finds them); any other request takes a try from ``throttle`` before its password is
checked, and is refused while its account or address must wait.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPBasic

from mautic_app import cache, throttle
from mautic_app.db import session_scope
from mautic_app.domain.tracking import visitor_ip
from mautic_app.services import users
from mautic_app.settings import get_settings
from mautic_app.web.api.errors import ApiError

REALM = 'Basic realm="Mautic"'


@dataclass(frozen=True)
class ApiAccount:
    """Who is calling, as the database says now."""

    id: int
    is_admin: bool


@dataclass(frozen=True)
class _Verified:
    user_id: int
    username: str
    password_hash: str  # the hash the password was checked against: a new password makes this entry stale


# Bounded: the keys come from whatever credentials callers send.
VERIFIED: cache.Cache[str, _Verified] = cache.named("api_credentials", topics=["users"], max_size=4096)
_CHECKING = [threading.Lock() for _ in range(64)]  # one password check at a time per set of credentials (striped)


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
    message = f"{get_settings().database_url}\0{username}\0{password}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": REALM})


def _too_many(wait: int) -> ApiError:
    return ApiError(429, f"Too many failed sign-ins for this account or address; try again in {wait} seconds.",
                    headers={"Retry-After": str(wait)})


def _still_valid(entry: _Verified) -> ApiAccount | None:
    """The cached account if its user is still active, with the same name and password hash."""
    with session_scope() as session:
        is_admin = users.still_signed_as(session=session, user_id=entry.user_id, username=entry.username,
                                         password_hash=entry.password_hash)
    return None if is_admin is None else ApiAccount(entry.user_id, is_admin)


def remembered(username: str, password: str) -> ApiAccount | None:
    """The account these credentials were verified for, if it is unchanged since."""
    key = _cache_key(username, password)
    entry = VERIFIED.peek(key)
    if entry is None:
        return None
    if (account := _still_valid(entry)) is None:
        VERIFIED.pop(key)
    return account


def verify(username: str, password: str) -> ApiAccount | None:
    """Check the password (one argon2 verification) and remember a success."""
    as_of = cache.epoch()
    with session_scope() as session:
        user = users.authenticate(session=session, username=username, password=password)
        if user is None or user.id is None:
            return None
        account = ApiAccount(user.id, user.is_admin)
        entry = _Verified(user.id, user.username, user.password_hash)
    VERIFIED.put(_cache_key(username, password), entry, as_of=as_of)
    return account


def api_account(request: Request, credentials: tuple[str, str] | None = Depends(basic)) -> ApiAccount:
    """The caller, checked once per request (FastAPI shares it between ``api_user`` and ``api_admin``)."""
    if not get_settings().api_basic_auth:
        raise _unauthorized("Basic authentication is disabled; use OAuth2.")
    if credentials is None:
        raise _unauthorized("API authorization denied: give a username and password (HTTP Basic).")
    username, password = credentials
    ip = visitor_ip(request.client.host if request.client else None, request.headers.get("x-forwarded-for"),
                    get_settings().trusted_proxies) or ""
    if (account := remembered(username, password)) is not None:
        return account  # verified before: only the right password finds this
    # An integration starting many requests at once sends the same credentials in each: one is
    # checked and the others wait for it, so they neither count as failed tries nor run argon2.
    with _CHECKING[int(_cache_key(username, password)[:8], 16) % len(_CHECKING)]:
        if (account := remembered(username, password)) is not None:
            return account
        if wait := throttle.attempt(username=username, ip=ip):
            raise _too_many(wait)
        if (account := verify(username, password)) is None:
            if wait := throttle.wait_seconds(username=username, ip=ip):
                raise _too_many(wait)
            raise _unauthorized("API authorization denied: the username or password is wrong.")
        throttle.succeeded(username=username, ip=ip)
        return account


def api_user(account: ApiAccount = Depends(api_account)) -> int:
    """The authenticated user's id; every API route depends on this."""
    return account.id


def api_admin(account: ApiAccount = Depends(api_account)) -> int:
    """The authenticated user's id, when an administrator: what only admins may do in the UI (custom fields,
    users, tracking settings) is theirs alone in the API too."""
    if not account.is_admin:
        raise ApiError(403, "You do not have access to the requested area/action: only administrators may do this.")
    return account.id
