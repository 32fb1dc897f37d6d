"""campaign log: written once per event and contact, with less to check per row

Most log rows are now written already done (an immediate event runs straight after the one before it), so:
- the due index holds scheduled rows only: done rows need no entry in the index the engine claims work from;
- the log no longer has foreign keys to its campaign and event, which PostgreSQL checked with a trigger per row.
  The engine locks its campaigns once per batch instead, and deleting a campaign or an event deletes its log rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 20:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEDULED = sa.text("status = 'scheduled'")
# SQLite's foreign keys have no names: batch mode names them by this convention to drop them
NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _foreign_keys() -> list[tuple[str, str, str]]:
    if op.get_bind().dialect.name == "postgresql":
        return [("campaign_log_campaign_id_fkey", "campaigns", "campaign_id"), ("campaign_log_event_id_fkey", "campaign_events", "event_id")]
    return [("fk_campaign_log_campaign_id_campaigns", "campaigns", "campaign_id"),
            ("fk_campaign_log_event_id_campaign_events", "campaign_events", "event_id")]


def upgrade() -> None:
    with op.batch_alter_table('campaign_log', schema=None, naming_convention=NAMES) as batch_op:
        for name, _table, _column in _foreign_keys():
            batch_op.drop_constraint(name, type_='foreignkey')
    op.drop_index('ix_campaign_log_due', table_name='campaign_log')
    op.create_index('ix_campaign_log_due', 'campaign_log', ['trigger_date'], unique=False, postgresql_where=SCHEDULED,
                    sqlite_where=SCHEDULED)


def downgrade() -> None:
    op.drop_index('ix_campaign_log_due', table_name='campaign_log')
    op.create_index('ix_campaign_log_due', 'campaign_log', ['status', 'trigger_date'], unique=False)
    with op.batch_alter_table('campaign_log', schema=None, naming_convention=NAMES) as batch_op:
        for name, table, column in _foreign_keys():
            batch_op.create_foreign_key(name, table, [column], ['id'], ondelete='CASCADE')
