"""dingtalk cards: the interactive cards sent per ticket (outTrackId), so an action updates all of them

Revision ID: 0019
Revises: 0001
Create Date: 2026-12-08 09:00:00

Issue 13: offers on DingTalk carry accept / hand back / close buttons; after an action every card of the ticket
shows who took it or how it ended.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0019'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)
NOW = sa.text('(CURRENT_TIMESTAMP)')


def upgrade() -> None:
    op.create_table('dingtalk_cards',
    sa.Column('out_track_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_number', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC, server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('out_track_id', name=op.f('pk_dingtalk_cards'))
    )
    with op.batch_alter_table('dingtalk_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dingtalk_cards_ticket_number'), ['ticket_number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dingtalk_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dingtalk_cards_ticket_number'))
    op.drop_table('dingtalk_cards')
