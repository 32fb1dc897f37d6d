"""Lifecycle stages a contact moves through."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class Stage(SQLModel, table=True):
    __tablename__ = "stages"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191, unique=True)
    weight: int = 0
    description: str = Field(default="")
    is_published: bool = True
    date_added: datetime = Field(default_factory=utcnow)
