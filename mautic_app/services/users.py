"""Users, password checks and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from mautic_app import changefeed
from mautic_app.domain.fields import CORE_CONTACT_FIELDS, FieldValueError, normalize_value
from mautic_app.domain.locale_format import DEFAULT_LOCALE, DEFAULT_TIMEZONE, check_locale, check_timezone
from mautic_app.models import User, UserSession
from mautic_app.models.base import utcnow
from mautic_app.settings import get_settings

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps the timing the same for unknown usernames.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 8
# The browser keeps the session token in this cookie, set by the server (HttpOnly), never by a script.
SESSION_COOKIE = "mautic_session"


class UserError(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.is_active:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user: User) -> str:
    """Create a session and return the token the browser keeps."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(UserSession(token_hash=_token_hash(token), user_id=cast(int, user.id), expires_at=now + timedelta(hours=get_settings().session_hours)))
    user.last_login = now
    session.add(user)
    session.flush()
    return token


def user_for_token(*, session: Session, token: str) -> User | None:
    if not token:
        return None
    row = session.exec(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.is_active else None


def end_session(*, session: Session, token: str) -> None:
    row = session.exec(select(UserSession).where(UserSession.token_hash == _token_hash(token))).first()
    if row is not None:
        session.delete(row)


def purge_expired_sessions(*, session: Session) -> int:
    rows = session.exec(select(UserSession).where(col(UserSession.expires_at) <= utcnow())).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)).all())


def save_user(
    *,
    session: Session,
    user_id: int | None,
    username: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    password: str = "",
    is_admin: bool = False,
    is_active: bool = True,
    keep_session: str = "",
) -> User:
    """Create or edit a user; a blank password on edit keeps the current one.

    A new password signs the user out everywhere (a password is changed because it leaked), except
    in the browser whose session token is ``keep_session`` (the user changing their own).
    """
    errors: dict[str, str] = {}
    username = username.strip()
    if not username:
        errors["username"] = "A username is required."
    elif len(username) > 191:
        errors["username"] = "Keep the username under 191 characters."
    existing = session.exec(select(User).where(User.username == username)).first() if username else None
    if existing is not None and existing.id != user_id:
        errors["username"] = "This username is taken."
    if email.strip():
        try:
            email = normalize_value(next(f for f in CORE_CONTACT_FIELDS if f.alias == "email"), email)
        except FieldValueError as exc:
            errors["email"] = str(exc)
    if (user_id is None or password) and len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters."
    user = session.get(User, user_id) if user_id else User(username=username, password_hash="")
    if user is None:
        errors["id"] = "This user no longer exists."
    if errors or user is None:
        raise UserError(errors)
    user.username = username
    user.first_name = first_name.strip()[:191]
    user.last_name = last_name.strip()[:191]
    user.email = (email or "").strip()
    user.is_admin = is_admin
    user.is_active = is_active
    if password:
        user.password_hash = hash_password(password)
        if user_id:
            session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id,
                                                      col(UserSession.token_hash) != _token_hash(keep_session)))
    session.add(user)
    session.flush()
    changefeed.publish_after_commit(session, "users", {"ids": [user.id], "action": "saved"})
    return user


def save_own_profile(*, session: Session, user_id: int, first_name: str, last_name: str, email: str,
                     locale: str = DEFAULT_LOCALE, timezone: str = DEFAULT_TIMEZONE) -> User:
    """A user's own name, e-mail, locale and time zone (My account): what they may change of themselves, nothing more."""
    user = session.get(User, user_id)
    if user is None:
        raise UserError({"id": "This user no longer exists."})
    errors = {k: why for k, why in (("locale", check_locale(locale)), ("timezone", check_timezone(timezone))) if why}
    if errors:
        raise UserError(errors)
    user.locale, user.timezone = locale, timezone
    return save_user(session=session, user_id=user_id, username=user.username, first_name=first_name, last_name=last_name,
                     email=email, is_admin=user.is_admin, is_active=user.is_active)


def change_own_password(*, session: Session, user_id: int, current: str, new: str, keep_session: str) -> None:
    """A user's new password, once their current one is proven; every other browser of theirs is signed out."""
    user = session.get(User, user_id)
    if user is None or authenticate(session=session, username=user.username, password=current) is None:
        raise UserError({"current": "This is not your current password."})
    if new == current:
        raise UserError({"password": "Choose a password other than the current one."})
    save_user(session=session, user_id=user_id, username=user.username, first_name=user.first_name or "",
              last_name=user.last_name or "", email=user.email or "", password=new, is_admin=user.is_admin,
              is_active=user.is_active, keep_session=keep_session)


def delete_user(*, session: Session, user_id: int, acting_user_id: int) -> None:
    if user_id == acting_user_id:
        raise UserError({"id": "You cannot delete yourself."})
    user = session.get(User, user_id)
    if user is not None:
        session.delete(user)
        changefeed.publish_after_commit(session, "users", {"ids": [user_id], "action": "deleted"})


def ensure_admin(*, session: Session, username: str, password: str | None) -> str | None:
    """Create the first admin if there is no user; return the generated password, if one was made."""
    if session.exec(select(User.id)).first() is not None:
        return None
    generated = None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    save_user(session=session, user_id=None, username=username, first_name="Admin", password=password, is_admin=True)
    return generated


def users_by_id(*, session: Session, ids: set[int]) -> dict[int, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {cast(int, u.id): u for u in session.exec(select(User).where(col(User.id).in_(ids))).all()}


def preferences(*, session: Session, user_id: int) -> tuple[str, str]:
    """The user's locale and time zone (the defaults for a user who is gone)."""
    row = session.execute(sa.select(col(User.locale), col(User.timezone)).where(col(User.id) == user_id)).first()
    return (row.locale, row.timezone) if row else (DEFAULT_LOCALE, DEFAULT_TIMEZONE)


def still_signed_as(*, session: Session, user_id: int, username: str, password_hash: str) -> bool | None:
    """Whether credentials checked earlier still hold: None when the user is gone, disabled, renamed or
    given a new password (one primary-key read, so a change is seen at once), else whether they are an admin."""
    row = session.execute(
        sa.select(col(User.username), col(User.password_hash), col(User.is_active), col(User.is_admin)).where(col(User.id) == user_id)
    ).first()
    if row is None or not row.is_active or row.username != username or row.password_hash != password_hash:
        return None
    return bool(row.is_admin)
