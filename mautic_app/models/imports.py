"""CSV imports: the job the worker runs and each row it rejected."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class ContactImport(SQLModel, table=True):
    __tablename__ = "imports"

    id: int | None = Field(default=None, primary_key=True)
    object: str = Field(default="contact", max_length=16)
    original_name: str = Field(max_length=255)
    file_path: str = Field(max_length=1024)
    status: str = Field(default="queued", max_length=16)  # queued, in_progress, imported, failed, stopped
    delimiter: str = Field(default=",", max_length=4)
    enclosure: str = Field(default='"', max_length=4)
    escape: str = Field(default="\\", max_length=4)
    encoding: str = Field(default="", max_length=32)
    mapping: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    total_rows: int = 0
    processed_rows: int = 0
    inserted: int = 0
    updated: int = 0
    failed: int = 0
    byte_offset: int = 0
    message: str = ""
    created_by: int | None = None
    date_added: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ImportFailure(SQLModel, table=True):
    __tablename__ = "import_failures"

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="imports.id", ondelete="CASCADE", index=True)
    row_number: int
    reason: str
    raw: str = ""
