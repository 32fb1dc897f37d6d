"""Forms: their fields and submit actions, and every submission kept with its values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Form(SQLModel, table=True):
    __tablename__ = "forms"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted form's id is never handed out again

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    alias: str = Field(max_length=191, unique=True)
    description: str = ""
    category: str = Field(default="", max_length=191)
    is_published: bool = True
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    # What the visitor sees after submitting: a message, a redirect, or back to the page.
    post_action: str = Field(default="message", max_length=16)
    post_action_property: str = ""  # the message, or the URL to redirect to
    form_type: str = Field(default="standalone", max_length=16)  # standalone | campaign
    in_kiosk_mode: bool = False
    progressive_profiling_limit: int | None = None
    no_index: bool = False
    language: str = Field(default="", max_length=16)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None


class FormField(SQLModel, table=True):
    """One field of a form; ``type`` is one of ``domain.forms.FIELD_TYPES``."""

    __tablename__ = "form_fields"
    __table_args__ = (sa.UniqueConstraint("form_id", "alias"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    form_id: int = Field(foreign_key="forms.id", ondelete="CASCADE", index=True)
    order: int = 0
    label: str = Field(max_length=255)
    alias: str = Field(max_length=64)
    type: str = Field(max_length=32)
    show_label: bool = True
    default_value: str = ""
    help_message: str = ""
    is_required: bool = False
    validation_message: str = ""
    # Per type: options, placeholder, captcha answer, page-break button labels, validators...
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    mapped_object: str = Field(default="", max_length=16)  # "", contact, company
    mapped_field: str = Field(default="", max_length=64)
    is_auto_fill: bool = False
    show_when_value_exists: bool = True
    show_after_x_submissions: int | None = None
    always_display: bool = False
    parent_alias: str = Field(default="", max_length=64)  # shown only when this field's value matches
    conditions: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # {"any": bool, "values": [...]}
    save_result: bool = True


class FormAction(SQLModel, table=True):
    """What a submission does; ``type`` is one of ``domain.forms.ACTION_TYPES``."""

    __tablename__ = "form_actions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    form_id: int = Field(foreign_key="forms.id", ondelete="CASCADE", index=True)
    order: int = 0
    type: str = Field(max_length=48)
    name: str = Field(default="", max_length=191)
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class FormSubmission(SQLModel, table=True):
    __tablename__ = "form_submissions"
    __table_args__ = (sa.Index("ix_form_submissions_form_date", "form_id", "date_submitted"),)

    id: int | None = Field(default=None, primary_key=True)
    form_id: int = Field(foreign_key="forms.id", ondelete="CASCADE")
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="SET NULL", index=True)
    ip_address: str | None = Field(default=None, max_length=45)
    tracking_id: str | None = Field(default=None, max_length=64)
    date_submitted: datetime = Field(default_factory=utcnow)
    referer: str | None = None
    page_url: str | None = None
    values: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
