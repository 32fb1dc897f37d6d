"""Segments: saved filters over contacts, and who is in each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Segment(SQLModel, table=True):
    __tablename__ = "segments"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted segment's id is never handed out again

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    public_name: str = Field(default="", max_length=191)
    alias: str = Field(max_length=191, unique=True)
    description: str = ""
    category: str = Field(default="", max_length=191)
    is_published: bool = True
    is_global: bool = True
    is_preference_center: bool = False
    # Filters in our form: [{"glue", "field", "operator", "value"}] (see domain.segments).
    filters: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    date_modified: datetime | None = None
    last_built: datetime | None = None
    build_seconds: float | None = None
    member_count: int = 0  # as of the last build or membership change


class SegmentContact(SQLModel, table=True):
    """A contact in a segment: by its filters, or added by hand; a row removed by hand stays,
    flagged, so the filters never add the contact back."""

    __tablename__ = "segment_contacts"

    segment_id: int = Field(foreign_key="segments.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True, index=True)
    date_added: datetime = Field(default_factory=utcnow)
    manually_added: bool = False
    manually_removed: bool = False
