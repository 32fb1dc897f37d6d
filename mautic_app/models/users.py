"""Marketers who sign in, and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=191, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    first_name: str = Field(default="", max_length=191)
    last_name: str = Field(default="", max_length=191)
    email: str = Field(default="", max_length=191)
    position: str = Field(default="", max_length=191)
    # How the app shows this user numbers and dates, and where their days begin and end.
    locale: str = Field(default="en_US", max_length=16, sa_column_kwargs={"server_default": "en_US"})
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    is_admin: bool = False
    is_active: bool = True
    last_login: datetime | None = None
    date_added: datetime = Field(default_factory=utcnow)

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.username


class UserSession(SQLModel, table=True):
    """A signed-in browser; the browser holds the token, we keep only its hash."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
