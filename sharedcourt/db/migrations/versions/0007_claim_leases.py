"""claim leases: messages.claimed_at and turn_unsure, outbox.claimed_at

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-30 10:00:00

A claimed inbound message or outbox item records when it was claimed, so a crash's leftovers are taken back
after a lease instead of by their age; `turn_unsure` marks a message whose Rasa turn may have run.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0007'
down_revision = '0001'
branch_labels = None
# The outbox table comes with the WeChat branch.
depends_on = '0003'

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('turn_unsure', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('turn_unsure')
        batch_op.drop_column('claimed_at')
