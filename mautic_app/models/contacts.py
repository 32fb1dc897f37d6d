"""Contacts and what hangs off them: tags, notes, do-not-contact, IPs, UTM tags, timeline.

The ``contacts`` table holds the core fields as columns; custom fields are added as further
columns at run time (see ``services.fields``), so reads go through the field registry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    # Expression indexes for the list's default sort and e-mail prefix search are created by
    # migration 0001 per dialect (see EXPRESSION_INDEXES in alembic/env.py).
    # AUTOINCREMENT on SQLite: a deleted or merged-away id is never handed to someone else.
    __table_args__ = (sa.Index("ix_contacts_date_added_id", "date_added", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL", index=True)
    stage_id: int | None = Field(default=None, foreign_key="stages.id", ondelete="SET NULL", index=True)
    created_by: int | None = None
    modified_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None
    date_identified: datetime | None = None
    is_identified: bool = Field(default=False, index=True)
    color: str | None = Field(default=None, max_length=7)
    preferred_profile_image: str | None = Field(default="gravatar", max_length=255)
    # The random id the tracking script sees (reply ``id``, ``mtc_id`` cookie): reveals nothing.
    public_id: str | None = Field(default=None, max_length=32, unique=True, index=True)

    # Core fields (aliases as in Mautic).
    title: str | None = Field(default=None, max_length=191)
    firstname: str | None = Field(default=None, max_length=191)
    lastname: str | None = Field(default=None, max_length=191)
    company: str | None = Field(default=None, max_length=191)
    position: str | None = Field(default=None, max_length=191)
    email: str | None = Field(default=None, max_length=191)
    mobile: str | None = Field(default=None, max_length=191)
    phone: str | None = Field(default=None, max_length=191)
    points: int = 0
    fax: str | None = Field(default=None, max_length=191)
    address1: str | None = Field(default=None, max_length=191)
    address2: str | None = Field(default=None, max_length=191)
    city: str | None = Field(default=None, max_length=191)
    state: str | None = Field(default=None, max_length=191)
    zipcode: str | None = Field(default=None, max_length=191)
    country: str | None = Field(default=None, max_length=191)
    preferred_locale: str | None = Field(default=None, max_length=191)
    timezone: str | None = Field(default=None, max_length=191)
    last_active: datetime | None = None
    attribution_date: datetime | None = None
    attribution: float | None = None
    website: str | None = Field(default=None, max_length=191)
    facebook: str | None = Field(default=None, max_length=191)
    foursquare: str | None = Field(default=None, max_length=191)
    instagram: str | None = Field(default=None, max_length=191)
    linkedin: str | None = Field(default=None, max_length=191)
    skype: str | None = Field(default=None, max_length=191)
    twitter: str | None = Field(default=None, max_length=191)


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    tag: str = Field(max_length=191, unique=True)


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tags"

    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    tag_id: int = Field(foreign_key="tags.id", ondelete="CASCADE", primary_key=True, index=True)


class Note(SQLModel, table=True):
    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    text: str
    type: str = Field(default="general", max_length=16)
    date_time: datetime = Field(default_factory=utcnow)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)


class DoNotContact(SQLModel, table=True):
    __tablename__ = "do_not_contact"
    __table_args__ = (sa.UniqueConstraint("contact_id", "channel", name="uq_dnc_contact_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    channel: str = Field(max_length=32)
    channel_id: int | None = None
    reason: int = 3  # 1 unsubscribed, 2 bounced, 3 manual
    comments: str = ""
    date_added: datetime = Field(default_factory=utcnow)


class IpAddress(SQLModel, table=True):
    __tablename__ = "ip_addresses"

    id: int | None = Field(default=None, primary_key=True)
    ip_address: str = Field(max_length=45, unique=True)


class ContactIpAddress(SQLModel, table=True):
    __tablename__ = "contact_ip_addresses"

    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    ip_id: int = Field(foreign_key="ip_addresses.id", ondelete="CASCADE", primary_key=True)


class UtmTag(SQLModel, table=True):
    __tablename__ = "utm_tags"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    date_added: datetime = Field(default_factory=utcnow)
    utm_campaign: str | None = Field(default=None, max_length=191)
    utm_content: str | None = Field(default=None, max_length=191)
    utm_medium: str | None = Field(default=None, max_length=191)
    utm_source: str | None = Field(default=None, max_length=191)
    utm_term: str | None = Field(default=None, max_length=191)
    query: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    referer: str | None = None
    remote_host: str | None = Field(default=None, max_length=191)
    url: str | None = None
    user_agent: str | None = None


class ContactEvent(SQLModel, table=True):
    """One line of a contact's timeline. Every area appends here, so one query shows it all."""

    __tablename__ = "contact_events"
    __table_args__ = (sa.Index("ix_contact_events_contact_time", "contact_id", "occurred_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE")
    event_type: str = Field(max_length=48, index=True)
    occurred_at: datetime = Field(default_factory=utcnow)
    user_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class MergeRecord(SQLModel, table=True):
    """Keeps a merged-away contact id pointing at the contact that absorbed it."""

    __tablename__ = "contact_merge_records"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", index=True)
    merged_id: int = Field(index=True)
    name: str = ""
    date_added: datetime = Field(default_factory=utcnow)
