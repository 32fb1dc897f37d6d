"""Stages: name, weight, description. Setting a contact's stage lives in services.contacts."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mautic_app import changefeed
from mautic_app.models import Contact, Stage


class StageError(ValueError):
    def __init__(self, errors: dict[str, str], status: int = 400):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


def list_stages(*, session: Session) -> list[Stage]:
    return list(session.exec(select(Stage).order_by(col(Stage.weight), col(Stage.name))).all())


def contact_counts(*, session: Session) -> dict[int, int]:
    counts = session.execute(
        sa.select(col(Contact.stage_id), sa.func.count()).where(col(Contact.stage_id).is_not(None)).group_by(col(Contact.stage_id))
    ).all()
    return {cast(int, stage_id): n for stage_id, n in counts}


def save_stage(*, session: Session, stage_id: int | None, name: str, weight: int | str = 0, description: str = "",
               is_published: bool = True) -> Stage:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > 191:
        errors["name"] = "Keep the name under 191 characters."
    try:
        weight = int(str(weight).strip() or 0)
    except ValueError:
        errors["weight"] = "Weight is a whole number."
        weight = 0
    other = session.exec(select(Stage).where(sa.func.lower(Stage.name) == name.lower())).first() if name else None
    if other is not None and other.id != stage_id:
        errors["name"] = "Another stage has this name."
    stage = session.get(Stage, stage_id) if stage_id else Stage(name=name)
    if stage is None:
        errors["id"] = "This stage no longer exists."
    if errors or stage is None:
        raise StageError(errors, status=404 if "id" in errors else 400)
    stage.name, stage.weight, stage.description, stage.is_published = name, weight, (description or "").strip(), is_published
    session.add(stage)
    session.flush()
    changefeed.publish_after_commit(session, "stages", {"ids": [stage.id], "action": "saved"})
    return stage


def find_or_create(*, session: Session, name: str) -> int:
    stage = session.exec(select(Stage).where(sa.func.lower(Stage.name) == name.strip().lower())).first()
    if stage is None:
        stage = save_stage(session=session, stage_id=None, name=name)
    return cast(int, stage.id)  # set once flushed


def delete_stage(*, session: Session, stage_id: int) -> None:
    stage = session.get(Stage, stage_id)
    if stage is None:
        return
    session.execute(sa.update(Contact).where(col(Contact.stage_id) == stage_id).values(stage_id=None))
    session.delete(stage)
    changefeed.publish_after_commit(session, "stages", {"ids": [stage_id], "action": "deleted"})


def stages_by_id(*, session: Session, ids: set[int]) -> dict[int, Stage]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {cast(int, s.id): s for s in session.exec(select(Stage).where(col(Stage.id).in_(ids))).all()}
