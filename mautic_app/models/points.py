"""Points: actions that score contacts, groups that score separately, triggers at thresholds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class PointGroup(SQLModel, table=True):
    __tablename__ = "point_groups"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191, unique=True)
    description: str = ""
    is_published: bool = True
    date_added: datetime = Field(default_factory=utcnow)


class PointAction(SQLModel, table=True):
    """A scored behaviour: ``type`` is one of domain.points.ACTION_TYPES (url.hit, form.submit, ...)."""

    __tablename__ = "point_actions"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted action's id is never handed out again

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    description: str = ""
    type: str = Field(max_length=48, index=True)
    delta: int = 0
    group_id: int | None = Field(default=None, foreign_key="point_groups.id", ondelete="SET NULL")
    repeatable: bool = False
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    is_published: bool = True
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    date_added: datetime = Field(default_factory=utcnow)


class PointActionLog(SQLModel, table=True):
    """Which contact an action has scored, so a non-repeatable action scores once."""

    __tablename__ = "point_action_log"

    action_id: int = Field(foreign_key="point_actions.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True, index=True)
    times: int = 1
    date_fired: datetime = Field(default_factory=utcnow)


class PointTrigger(SQLModel, table=True):
    __tablename__ = "point_triggers"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=191)
    description: str = ""
    points: int = 0
    group_id: int | None = Field(default=None, foreign_key="point_groups.id", ondelete="SET NULL")
    color: str = Field(default="#a0acb8", max_length=7)
    trigger_existing: bool = False
    is_published: bool = True
    publish_up: datetime | None = None
    publish_down: datetime | None = None
    date_added: datetime = Field(default_factory=utcnow)


class PointTriggerEvent(SQLModel, table=True):
    """What a trigger does: ``type`` is one of domain.points.TRIGGER_EVENT_TYPES."""

    __tablename__ = "point_trigger_events"

    id: int | None = Field(default=None, primary_key=True)
    trigger_id: int = Field(foreign_key="point_triggers.id", ondelete="CASCADE", index=True)
    name: str = Field(default="", max_length=191)
    type: str = Field(max_length=48)
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    event_order: int = 0


class PointTriggerLog(SQLModel, table=True):
    """A trigger event runs once per contact."""

    __tablename__ = "point_trigger_log"

    event_id: int = Field(foreign_key="point_trigger_events.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True, index=True)
    date_fired: datetime = Field(default_factory=utcnow)


class GroupContactScore(SQLModel, table=True):
    """A contact's score within one point group."""

    __tablename__ = "point_group_scores"

    group_id: int = Field(foreign_key="point_groups.id", ondelete="CASCADE", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True, index=True)
    score: int = 0
