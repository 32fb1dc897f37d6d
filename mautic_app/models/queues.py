"""What the queued writers (tracking hits, form submissions) have committed, so nothing is written twice."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mautic_app.models.base import utcnow


class QueueBatch(SQLModel, table=True):
    """A batch a queued writer committed, by its first item (every queued item is unique: it carries an id
    of its own). Written in the batch's own transaction, before anything else: a writer killed between its
    commit and taking the batch off the queue leaves it queued, and the next writer finds it here and only
    takes it off. Kept until the next batch (or, after a crash, a week)."""

    __tablename__ = "queue_batches"

    key: str = Field(primary_key=True, max_length=64)  # the queue's name and a hash of the batch's first item
    items: int  # how many items, from the head of the queue, the batch took
    date_added: datetime = Field(default_factory=utcnow, index=True)
