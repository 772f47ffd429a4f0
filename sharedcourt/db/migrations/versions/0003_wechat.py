"""wechat: the outbox (every asynchronous channel message), WeChat quota per user, passive/async turns

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29 14:55:00
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('message_ids', sa.JSON(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sharedcourt.db.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('sent_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_outbox_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel_recipient', ['channel', 'recipient'], unique=False)
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('wechat_quota',
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('window_kind', sa.String(length=16), nullable=False),
    sa.Column('window_start', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('openid', name=op.f('pk_wechat_quota'))
    )
    op.create_table('wechat_turns',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('reply_mode', sa.String(length=16), nullable=True),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.Column('reply_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sharedcourt.db.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_wechat_turns_message_id_messages')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_wechat_turns'))
    )


def downgrade() -> None:
    op.drop_table('wechat_turns')
    op.drop_table('wechat_quota')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_attempt_at')
        batch_op.drop_index('ix_outbox_channel_recipient')
    op.drop_table('outbox')
