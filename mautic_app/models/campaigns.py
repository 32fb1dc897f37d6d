"""Campaigns: the events a marketer lays out on the canvas, who is in each campaign, and the event log
that is both the engine's due work and its history (one row per event, contact and rotation, so no event
ever runs twice for one entry of a contact)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    description: str = Field(default="", sa_type=sa.Text)
    category: str = Field(default="", max_length=191)
    is_published: bool = False
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    allow_restart: bool = False
    canvas_settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # node positions, Mautic's shape
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None


class CampaignSegment(SQLModel, table=True):
    """A source segment: its members join the campaign, and leave it when they leave every source."""

    __tablename__ = "campaign_segments"

    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", primary_key=True)
    segment_id: int = Field(foreign_key="segments.id", ondelete="CASCADE", primary_key=True, index=True)


class CampaignForm(SQLModel, table=True):
    """A source form: whoever submits it joins the campaign."""

    __tablename__ = "campaign_forms"

    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", primary_key=True)
    form_id: int = Field(foreign_key="forms.id", ondelete="CASCADE", primary_key=True, index=True)


class CampaignEvent(SQLModel, table=True):
    """An action, decision or condition. Deleting one from a published campaign only marks it deleted, so
    the log of what it did stays readable."""

    __tablename__ = "campaign_events"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=191)
    description: str = Field(default="", sa_type=sa.Text)
    event_type: str = Field(max_length=64)  # Mautic's key: email.send, lead.changetags, email.open, ...
    kind: str = Field(max_length=16)  # action | decision | condition
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    parent_id: int | None = Field(default=None, foreign_key="campaign_events.id", ondelete="SET NULL", index=True)
    decision_path: str | None = Field(default=None, max_length=3)  # yes | no (under a decision or condition)
    order: int = 0
    trigger_mode: str = Field(default="immediate", max_length=16)  # immediate | interval | date
    trigger_interval: int = 0
    trigger_interval_unit: str = Field(default="d", max_length=1)  # i h d m y
    trigger_date: datetime | None = None
    trigger_hour: str = Field(default="", max_length=5)  # HH:MM
    trigger_window_start: str = Field(default="", max_length=5)
    trigger_window_stop: str = Field(default="", max_length=5)
    trigger_weekdays: list[int] = Field(default_factory=list, sa_type=sa.JSON)  # 0 Sunday .. 6 Saturday
    channel: str = Field(default="", max_length=32)
    channel_id: int | None = None
    deleted: bool = False


class CampaignMember(SQLModel, table=True):
    """A contact in a campaign (Mautic's campaign_leads). Each entry is a new rotation; a contact removed by
    hand is not added back by its segments."""

    __tablename__ = "campaign_members"
    __table_args__ = (sa.Index("ix_campaign_members_contact", "contact_id"),)

    campaign_id: int = Field(foreign_key="campaigns.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    rotation: int = 1
    manually_added: bool = False
    manually_removed: bool = False
    removed: bool = False  # out of the campaign (its history stays; a restart or a manual add brings it back)
    date_added: datetime = Field(default_factory=utcnow)
    date_last_exited: datetime | None = None


class CampaignLog(SQLModel, table=True):
    """One event for one contact in one rotation: scheduled work until it runs, then its record.

    status: scheduled (due at ``trigger_date``) → done | failed | cancelled; a decision waits as
    ``waiting`` until the contact acts (yes) or a no-path event of it comes due (no). Workers claim due rows
    in the transaction that performs them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a worker killed
    mid-batch leaves them scheduled for the next one."""

    __tablename__ = "campaign_log"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "contact_id", "rotation", name="uq_campaign_log_event_contact_rotation"),
        # Only scheduled rows are due work: rows written already done (most of them) never enter this index.
        sa.Index("ix_campaign_log_due", "trigger_date", postgresql_where=sa.text("status = 'scheduled'"),
                 sqlite_where=sa.text("status = 'scheduled'")),
        sa.Index("ix_campaign_log_contact_status", "contact_id", "status"),
        sa.Index("ix_campaign_log_campaign_event_status", "campaign_id", "event_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No foreign keys to the campaign and the event: PostgreSQL would check each with a trigger per inserted row. The
    # engine locks its campaigns once per batch instead, and deleting a campaign or an event deletes its rows.
    campaign_id: int
    event_id: int
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE")
    rotation: int = 1
    status: str = Field(default="scheduled", max_length=16)  # scheduled | waiting | done | failed | cancelled
    path: str | None = Field(default=None, max_length=3)  # yes | no, once a decision or condition is taken
    trigger_date: datetime | None = None  # when it is due (None: a decision that waits with no deadline)
    date_triggered: datetime | None = None  # when it ran
    system_triggered: bool = True
    attempts: int = 0
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column("metadata", sa.JSON, nullable=False))
    date_added: datetime = Field(default_factory=utcnow)

