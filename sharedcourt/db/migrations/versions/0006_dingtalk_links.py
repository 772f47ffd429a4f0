"""trust: seen callback signatures, DingTalk messages claimed/handled, transcript link openings

Revision ID: 0006
Revises: 0001
Create Date: 2026-12-01 10:00:00

link_openings refers to tickets (0004), hence depends_on.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0006'
down_revision = '0001'
branch_labels = None
depends_on = '0004'

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('seen_signatures',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('seen_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('channel', 'signature', name=op.f('pk_seen_signatures'))
    )
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_signatures_seen_at'), ['seen_at'], unique=False)

    op.create_table('dingtalk_inbound',
    sa.Column('msg_id', sa.String(length=128), nullable=False),
    sa.Column('claimed_at', UTC, nullable=False),
    sa.Column('handled_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('msg_id', name=op.f('pk_dingtalk_inbound'))
    )
    with op.batch_alter_table('dingtalk_inbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dingtalk_inbound_claimed_at'), ['claimed_at'], unique=False)

    op.create_table('link_openings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('staff', sa.String(length=64), nullable=False),
    sa.Column('opened_at', UTC, nullable=False),
    sa.Column('masked', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_link_openings_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_openings'))
    )
    with op.batch_alter_table('link_openings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_openings_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('link_openings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_openings_ticket_id'))
    op.drop_table('link_openings')
    with op.batch_alter_table('dingtalk_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dingtalk_inbound_claimed_at'))
    op.drop_table('dingtalk_inbound')
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_signatures_seen_at'))
    op.drop_table('seen_signatures')
