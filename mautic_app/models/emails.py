"""E-mails: what a marketer writes, who it goes to, the send ledger that makes every send happen once,
and what recipients did with it (opens, clicks, unsubscribes, bounces)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Email(SQLModel, table=True):
    """A template e-mail (sent one at a time by forms, point triggers, the API and campaigns) or a
    segment e-mail (broadcast to its segments minus the excluded ones)."""

    __tablename__ = "emails"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted e-mail's id (in old links) is never reused

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    email_type: str = Field(default="template", max_length=16)  # template | list (Mautic's names)
    subject: str = Field(default="", max_length=191)
    preheader: str = Field(default="", max_length=191)
    from_address: str = Field(default="", max_length=191)  # blank: the e-mail settings' sender
    from_name: str = Field(default="", max_length=191)
    reply_to: str = Field(default="", max_length=191)
    bcc: str = Field(default="", max_length=191)
    use_owner_as_sender: bool = False
    utm_tags: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # utmSource, utmMedium, ...
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # custom header name -> value
    template: str = Field(default="", max_length=64)  # the starter template it began from
    content_mjml: str = Field(default="", sa_type=sa.Text)  # the builder's source; blank for hand-written HTML
    custom_html: str = Field(default="", sa_type=sa.Text)  # what is sent: compiled, CSS inlined, tokens left in
    plain_text: str = Field(default="", sa_type=sa.Text)  # the marketer's own; generated from the HTML when blank
    language: str = Field(default="en", max_length=16)
    category: str = Field(default="", max_length=191)
    is_published: bool = True
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    # Counters kept by the services that record sends and opens (Mautic's sentCount / readCount).
    sent_count: int = 0
    read_count: int = 0
    click_count: int = 0
    # A/B test: variants point at their parent; the parent's variant_settings hold the winner criterion.
    variant_parent_id: int | None = Field(default=None, foreign_key="emails.id", ondelete="CASCADE", index=True)
    variant_weight: int = 0  # percent of recipients while the test runs
    variant_settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    variant_start_date: datetime | None = None
    translation_parent_id: int | None = Field(default=None, foreign_key="emails.id", ondelete="CASCADE", index=True)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None


class EmailSegment(SQLModel, table=True):
    """A segment a segment e-mail goes to, or (excluded) whose members it skips."""

    __tablename__ = "email_segments"

    email_id: int = Field(foreign_key="emails.id", ondelete="CASCADE", primary_key=True)
    segment_id: int = Field(foreign_key="segments.id", ondelete="CASCADE", primary_key=True)
    excluded: bool = False


class EmailSend(SQLModel, table=True):
    """One broadcast of a segment e-mail: its schedule, its state and its running totals. The worker
    that runs it holds a lease; a lease that runs out means the worker died."""

    __tablename__ = "email_sends"

    id: int | None = Field(default=None, primary_key=True)
    email_id: int = Field(foreign_key="emails.id", ondelete="CASCADE", index=True)
    status: str = Field(default="scheduled", max_length=16)  # scheduled | running | paused | cancelled | finished
    scheduled_at: datetime | None = None
    total: int = 0  # recipients when it started (grows if segments grow while it runs)
    sent: int = 0
    failed: int = 0
    unknown: int = 0  # in flight when a worker died: never re-sent automatically
    skipped: int = 0  # do-not-contact or frequency rules
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    error: str = Field(default="", sa_type=sa.Text)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class EmailStat(SQLModel, table=True):
    """The send ledger: one row per message to one contact. A broadcast claims a contact by inserting
    its row (unique per send), so nobody is sent twice; status says how far the message got."""

    __tablename__ = "email_stats"
    __table_args__ = (
        sa.UniqueConstraint("send_id", "contact_id", name="uq_email_stats_send_contact"),
        sa.Index("ix_email_stats_send_status", "send_id", "status"),
        sa.Index("ix_email_stats_email_contact", "email_id", "contact_id"),  # "already sent this e-mail?"
        sa.Index("ix_email_stats_email_date", "email_id", "date_sent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email_id: int = Field(foreign_key="emails.id", ondelete="CASCADE")
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="SET NULL", index=True)
    send_id: int | None = Field(default=None, foreign_key="email_sends.id", ondelete="CASCADE")
    email_address: str = Field(default="", max_length=191)
    tracking_hash: str = Field(max_length=64, unique=True)  # in the pixel, click and unsubscribe links
    status: str = Field(default="queued", max_length=16)  # queued | reserved (a broadcast's next batch) | sending | sent | failed | unknown | skipped
    message_id: str = Field(default="", max_length=191)
    error: str = Field(default="", sa_type=sa.Text)  # the transport's answer, stored as text, shown escaped
    retry_count: int = 0
    source: str = Field(default="", max_length=32)  # broadcast | form | point_trigger | api | campaign | test
    source_id: int | None = None
    tokens: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # extra tokens given by the API
    date_sent: datetime | None = None
    is_read: bool = False
    date_read: datetime | None = None
    open_count: int = 0
    last_opened: datetime | None = None
    viewed_in_browser: bool = False
    date_added: datetime = Field(default_factory=utcnow)


class EmailLink(SQLModel, table=True):
    """A link of a sent e-mail; clicks go through ``/r/{redirect_id}``, which only ever leads here."""

    __tablename__ = "email_links"
    __table_args__ = (sa.UniqueConstraint("email_id", "url", name="uq_email_links_email_url"),)

    id: int | None = Field(default=None, primary_key=True)
    email_id: int = Field(foreign_key="emails.id", ondelete="CASCADE")
    url: str = Field(sa_type=sa.Text)
    redirect_id: str = Field(max_length=32, unique=True)
    hits: int = 0
    unique_hits: int = 0
    date_added: datetime = Field(default_factory=utcnow)


class EmailClick(SQLModel, table=True):
    __tablename__ = "email_clicks"
    __table_args__ = (sa.Index("ix_email_clicks_link_date", "link_id", "date_added"),)

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="email_links.id", ondelete="CASCADE")
    stat_id: int | None = Field(default=None, foreign_key="email_stats.id", ondelete="SET NULL", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="SET NULL", index=True)
    date_added: datetime = Field(default_factory=utcnow)


class FrequencyRule(SQLModel, table=True):
    """A contact's own limit on a channel (N messages per day / week / month) and pause dates; the
    installation-wide limit is in the e-mail settings."""

    __tablename__ = "frequency_rules"
    __table_args__ = (sa.UniqueConstraint("contact_id", "channel", name="uq_frequency_rules_contact_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE")
    channel: str = Field(default="email", max_length=32)
    frequency_number: int | None = None
    frequency_time: str | None = Field(default=None, max_length=8)  # DAY | WEEK | MONTH
    pause_from: datetime | None = None
    pause_to: datetime | None = None
    preferred: bool = False
    date_added: datetime = Field(default_factory=utcnow)


class EmailSetting(SQLModel, table=True):
    """Installation-wide e-mail settings (key -> JSON): transport, default sender, rate, frequency."""

    __tablename__ = "email_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_type=sa.JSON)


class OutboxMessage(SQLModel, table=True):
    """A message kept in the built-in outbox because no transport is configured: never delivered."""

    __tablename__ = "outbox_messages"

    id: int | None = Field(default=None, primary_key=True)
    stat_id: int | None = Field(default=None, foreign_key="email_stats.id", ondelete="SET NULL", index=True)
    to_address: str = Field(default="", max_length=191)
    subject: str = Field(default="", max_length=191)
    message: str = Field(default="", sa_type=sa.Text)  # the whole RFC 5322 message as it would have gone
    date_added: datetime = Field(default_factory=utcnow, index=True)


class EmailBounce(SQLModel, table=True):
    """A bounce or complaint reported by a provider's webhook or found in the bounce mailbox. What it
    carries is stored as text and only ever shown escaped."""

    __tablename__ = "email_bounces"

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)  # ses | mailgun | sendgrid | postmark | imap
    kind: str = Field(max_length=16)  # hard | soft | complaint
    email_address: str = Field(default="", max_length=191, index=True)
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="SET NULL", index=True)
    stat_id: int | None = Field(default=None, foreign_key="email_stats.id", ondelete="SET NULL")
    reason: str = Field(default="", sa_type=sa.Text)
    event_key: str | None = Field(default=None, max_length=191, unique=True)  # the provider's id: a retried callback counts once
    date_added: datetime = Field(default_factory=utcnow)
