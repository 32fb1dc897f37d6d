"""Web tracking: the devices visitors use, their page hits, and tracking settings.

Hits arrive through the public tracking routes, queue in Redis when it is configured and
are written in batches by a Celery task (``services.tracking.record_hits``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class ContactDevice(SQLModel, table=True):
    """A browser a contact was seen on, named by the random ``mautic_device_id`` cookie."""

    __tablename__ = "contact_devices"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    tracking_id: str = Field(max_length=64, unique=True)
    device: str | None = Field(default=None, max_length=64)  # desktop, smartphone, tablet, ...
    device_brand: str | None = Field(default=None, max_length=64)
    device_model: str | None = Field(default=None, max_length=128)
    device_os_name: str | None = Field(default=None, max_length=64)
    device_os_shortname: str | None = Field(default=None, max_length=16)
    device_os_version: str | None = Field(default=None, max_length=32)
    device_os_platform: str | None = Field(default=None, max_length=32)
    client_info: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # browser name, version, engine
    date_added: datetime = Field(default_factory=utcnow)
    last_seen: datetime | None = None


class PageHit(SQLModel, table=True):
    """One page view: every string here came from a visitor's browser and is untrusted text."""

    __tablename__ = "page_hits"
    __table_args__ = (
        sa.Index("ix_page_hits_contact_time", "contact_id", "date_hit"),
        sa.Index("ix_page_hits_url_hash_tracking", "url_hash", "tracking_id"),
        sa.Index("ix_page_hits_device", "device_id", "id"),  # a device's latest hit, to mark when it was left
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="CASCADE")
    device_id: int | None = Field(default=None, foreign_key="contact_devices.id", ondelete="SET NULL")
    date_hit: datetime = Field(default_factory=utcnow, index=True)
    date_left: datetime | None = None
    url: str = Field(default="", sa_type=sa.Text)
    url_hash: str = Field(default="", max_length=40)  # sha1 of url: unique-hit lookups and grouping
    url_title: str | None = Field(default=None, max_length=255)
    referer: str | None = Field(default=None, sa_type=sa.Text)
    user_agent: str | None = Field(default=None, sa_type=sa.Text)
    remote_host: str | None = Field(default=None, max_length=255)
    ip_address: str | None = Field(default=None, max_length=45)
    country: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    city: str | None = Field(default=None, max_length=64)
    isp: str | None = Field(default=None, max_length=128)
    organization: str | None = Field(default=None, max_length=128)
    code: int = 200
    page_language: str | None = Field(default=None, max_length=32)
    browser_languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    tracking_id: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=64)
    source_id: int | None = None
    query: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    is_unique: bool = True
    page_id: int | None = None
    redirect_id: int | None = None
    email_id: int | None = None


class TrackingSetting(SQLModel, table=True):
    """Site-wide tracking settings edited on the tracking settings page (key → JSON value)."""

    __tablename__ = "tracking_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_type=sa.JSON)
