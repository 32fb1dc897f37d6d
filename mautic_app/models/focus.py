"""Focus items: bars, modals, notifications and full pages shown on a site, and what visitors did with them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class FocusItem(SQLModel, table=True):
    __tablename__ = "focus_items"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted item's id is never handed out again

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    description: str = ""
    category: str = Field(default="", max_length=191)
    is_published: bool = True
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    type: str = Field(default="notice", max_length=16)  # form | notice | link
    style: str = Field(default="bar", max_length=16)  # bar | modal | notification | page
    form_id: int | None = Field(default=None, foreign_key="forms.id", ondelete="SET NULL")
    # Placement, trigger, frequency, stop rules, colours and texts (see domain.focus).
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    utm_tags: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None


class FocusStat(SQLModel, table=True):
    """One view, click or conversion of a focus item."""

    __tablename__ = "focus_stats"
    __table_args__ = (sa.Index("ix_focus_stats_focus_date", "focus_id", "date_added"),)

    id: int | None = Field(default=None, primary_key=True)
    focus_id: int = Field(foreign_key="focus_items.id", ondelete="CASCADE")
    type: str = Field(max_length=16)  # view | click | conversion
    contact_id: int | None = Field(default=None, foreign_key="contacts.id", ondelete="SET NULL", index=True)
    date_added: datetime = Field(default_factory=utcnow)
