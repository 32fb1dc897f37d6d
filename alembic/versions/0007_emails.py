"""e-mails: the e-mails, their segments, broadcasts, the send ledger, links and clicks, frequency rules,
settings, the built-in outbox and bounces

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 04:31:25.970345
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('email_settings',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('email_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('preheader', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('from_address', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('from_name', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('reply_to', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('bcc', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('use_owner_as_sender', sa.Boolean(), nullable=False),
    sa.Column('utm_tags', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_mjml', sa.Text(), nullable=False),
    sa.Column('custom_html', sa.Text(), nullable=False),
    sa.Column('plain_text', sa.Text(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('publish_up', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('publish_down', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('read_count', sa.Integer(), nullable=False),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('variant_parent_id', sa.Integer(), nullable=True),
    sa.Column('variant_weight', sa.Integer(), nullable=False),
    sa.Column('variant_settings', sa.JSON(), nullable=False),
    sa.Column('variant_start_date', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('translation_parent_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('date_modified', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['translation_parent_id'], ['emails.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_parent_id'], ['emails.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emails_translation_parent_id'), ['translation_parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emails_variant_parent_id'), ['variant_parent_id'], unique=False)

    op.create_table('email_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('redirect_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('unique_hits', sa.Integer(), nullable=False),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email_id', 'url', name='uq_email_links_email_url'),
    sa.UniqueConstraint('redirect_id')
    )
    op.create_table('email_segments',
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('email_id', 'segment_id')
    )
    op.create_table('email_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('scheduled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('email_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_sends_email_id'), ['email_id'], unique=False)

    op.create_table('email_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('send_id', sa.Integer(), nullable=True),
    sa.Column('email_address', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('tracking_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('retry_count', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('tokens', sa.JSON(), nullable=False),
    sa.Column('date_sent', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('is_read', sa.Boolean(), nullable=False),
    sa.Column('date_read', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('last_opened', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('viewed_in_browser', sa.Boolean(), nullable=False),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['email_id'], ['emails.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['send_id'], ['email_sends.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('send_id', 'contact_id', name='uq_email_stats_send_contact'),
    sa.UniqueConstraint('tracking_hash')
    )
    with op.batch_alter_table('email_stats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_stats_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_email_stats_email_date', ['email_id', 'date_sent'], unique=False)
        batch_op.create_index('ix_email_stats_email_contact', ['email_id', 'contact_id'], unique=False)
        batch_op.create_index('ix_email_stats_send_status', ['send_id', 'status'], unique=False)

    op.create_table('frequency_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('frequency_number', sa.Integer(), nullable=True),
    sa.Column('frequency_time', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('pause_from', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('pause_to', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('preferred', sa.Boolean(), nullable=False),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'channel', name='uq_frequency_rules_contact_channel')
    )
    op.create_table('email_bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('email_address', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('stat_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('event_key', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=True),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stat_id'], ['email_stats.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_key')
    )
    with op.batch_alter_table('email_bounces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_bounces_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_bounces_email_address'), ['email_address'], unique=False)

    op.create_table('email_clicks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('stat_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['link_id'], ['email_links.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stat_id'], ['email_stats.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('email_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_clicks_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('ix_email_clicks_link_date', ['link_id', 'date_added'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_clicks_stat_id'), ['stat_id'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stat_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=191), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('date_added', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['stat_id'], ['email_stats.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_date_added'), ['date_added'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_stat_id'), ['stat_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_stat_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_date_added'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('email_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_clicks_stat_id'))
        batch_op.drop_index('ix_email_clicks_link_date')
        batch_op.drop_index(batch_op.f('ix_email_clicks_contact_id'))

    op.drop_table('email_clicks')
    with op.batch_alter_table('email_bounces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_bounces_email_address'))
        batch_op.drop_index(batch_op.f('ix_email_bounces_contact_id'))

    op.drop_table('email_bounces')
    op.drop_table('frequency_rules')
    with op.batch_alter_table('email_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_email_stats_send_status')
        batch_op.drop_index('ix_email_stats_email_contact')
        batch_op.drop_index('ix_email_stats_email_date')
        batch_op.drop_index(batch_op.f('ix_email_stats_contact_id'))

    op.drop_table('email_stats')
    with op.batch_alter_table('email_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_sends_email_id'))

    op.drop_table('email_sends')
    op.drop_table('email_segments')
    op.drop_table('email_links')
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emails_variant_parent_id'))
        batch_op.drop_index(batch_op.f('ix_emails_translation_parent_id'))

    op.drop_table('emails')
    op.drop_table('email_settings')
