"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from sqlmodel import SQLModel


def utcnow() -> datetime:
    """Aware UTC, as SQLModel's datetime columns require."""
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Core table, for statements over many rows (SQLModel does not declare ``__table__``)."""
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]
