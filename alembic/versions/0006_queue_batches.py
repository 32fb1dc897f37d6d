"""queue batches: the queued writers never write a batch twice

A writer killed between its batch's commit and taking the batch off the Redis queue left it queued,
and the next writer wrote every hit (or form submission) of it again. Each batch now records its
first item in its own transaction; the next writer finds it and only takes the batch off.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'queue_batches',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_queue_batches_date_added'), 'queue_batches', ['date_added'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_queue_batches_date_added'), table_name='queue_batches')
    op.drop_table('queue_batches')
