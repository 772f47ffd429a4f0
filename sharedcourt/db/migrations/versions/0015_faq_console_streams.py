"""faq console: entry edits layered over the YAML, unanswered law questions, 普法 stream reminders (issue 15)

Revision ID: 0015
Revises: 0001
Create Date: 2026-12-03 12:18:23

`faq_entry_edits` replaces or adds knowledge-base entries in every front door; `faq_unanswered` counts the
masked law questions the assistant declined; `pufa_stream_reminders` holds one reminder per resident and stream.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0015'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('faq_entry_edits',
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('dispute', sa.String(length=32), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=True),
    sa.Column('checked', sa.Date(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', sharedcourt.db.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_faq_entry_edits'))
    )
    with op.batch_alter_table('faq_entry_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entry_edits_updated_at'), ['updated_at'], unique=False)

    op.create_table('faq_unanswered',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('dispute_code', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('covered_entry', sa.String(length=64), nullable=True),
    sa.Column('covered_by', sa.String(length=64), nullable=True),
    sa.Column('covered_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_unanswered')),
    sa.UniqueConstraint('key', name=op.f('uq_faq_unanswered_key'))
    )
    with op.batch_alter_table('faq_unanswered', schema=None) as batch_op:
        batch_op.create_index('ix_faq_unanswered_covered_entry_last_at', ['covered_entry', 'last_at'], unique=False)

    op.create_table('pufa_stream_reminders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('stream_key', sa.String(length=32), nullable=False),
    sa.Column('county', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('starts_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('watch', sa.Text(), nullable=False),
    sa.Column('due_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_until', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('sent_at', sharedcourt.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', sharedcourt.db.base.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_pufa_stream_reminders_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_pufa_stream_reminders_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pufa_stream_reminders')),
    sa.UniqueConstraint('resident_id', 'stream_key', name=op.f('uq_pufa_stream_reminders_resident_id_stream_key'))
    )
    with op.batch_alter_table('pufa_stream_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_pufa_stream_reminders_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pufa_stream_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_pufa_stream_reminders_status_due_at')

    op.drop_table('pufa_stream_reminders')
    with op.batch_alter_table('faq_unanswered', schema=None) as batch_op:
        batch_op.drop_index('ix_faq_unanswered_covered_entry_last_at')

    op.drop_table('faq_unanswered')
    with op.batch_alter_table('faq_entry_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entry_edits_updated_at'))

    op.drop_table('faq_entry_edits')
