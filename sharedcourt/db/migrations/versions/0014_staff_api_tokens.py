"""staff api tokens: per-account bearer tokens for the console's JSON API (issue 12)

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-03 08:30:00

Only the SHA-256 of each token is stored; an admin creates and revokes them per account.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0014'
down_revision = '0009'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)
NOW = sa.text('(CURRENT_TIMESTAMP)')


def upgrade() -> None:
    op.create_table('staff_api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), server_default='', nullable=False),
    sa.Column('created_at', UTC, server_default=NOW, nullable=False),
    sa.Column('last_used_at', UTC, nullable=True),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], name=op.f('fk_staff_api_tokens_account_id_staff_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_api_tokens_token_hash'))
    )
    with op.batch_alter_table('staff_api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_api_tokens_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_api_tokens_account_id'))

    op.drop_table('staff_api_tokens')
