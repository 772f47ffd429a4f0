"""staff notices: the cards for people on the roster, stored (the web inbox without DingTalk)

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-06 09:00:00

The demo's in-memory inbox is replaced by a table, so a restart loses no offer (issue 13).
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0013'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)
NOW = sa.text('(CURRENT_TIMESTAMP)')


def upgrade() -> None:
    op.create_table('staff_notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('staff_key', sa.String(length=64), nullable=False),
    sa.Column('ticket_number', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('created_at', UTC, server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_notices'))
    )
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.create_index('ix_staff_notices_staff_key_id', ['staff_key', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_notices_ticket_number'), ['ticket_number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_notices_ticket_number'))
        batch_op.drop_index('ix_staff_notices_staff_key_id')
    op.drop_table('staff_notices')
