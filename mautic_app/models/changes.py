"""The change feed's table, used to fan out live updates when no Redis is configured."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class ChangeFeedEntry(SQLModel, table=True):
    __tablename__ = "change_feed"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, index=True)
