"""replay digest: seen_signatures.digest; tickets.transcript_key dropped

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 08:00:00

WeChat's plain mode signs only (timestamp, nonce): the body's digest tells WeChat's retry (same body) from a
captured query carrying another message. Transcript links are signed and expiring now (0006); the old
never-expiring per-ticket key is dropped.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), server_default='', nullable=False))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('transcript_key')


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript_key', sa.String(length=64), server_default='', nullable=False))
    with op.batch_alter_table('seen_signatures', schema=None) as batch_op:
        batch_op.drop_column('digest')
