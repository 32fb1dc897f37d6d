"""Contact and company field definitions: every field is a real column of its table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class FieldDefinition(SQLModel, table=True):
    __tablename__ = "fields"
    __table_args__ = (sa.UniqueConstraint("object", "alias", name="uq_fields_object_alias"),)

    id: int | None = Field(default=None, primary_key=True)
    object: str = Field(max_length=16, index=True)  # "contact" or "company"
    alias: str = Field(max_length=64)
    label: str = Field(max_length=191)
    type: str = Field(max_length=32)
    group: str = Field(default="core", max_length=32, sa_column_kwargs={"name": "field_group"})
    default_value: str | None = Field(default=None, max_length=255)
    is_required: bool = False
    is_visible: bool = True
    is_listable: bool = True
    is_publicly_updatable: bool = False
    is_unique_identifier: bool = False
    is_fixed: bool = False
    is_indexed: bool = False
    field_order: int = 0
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    date_added: datetime = Field(default_factory=utcnow)
