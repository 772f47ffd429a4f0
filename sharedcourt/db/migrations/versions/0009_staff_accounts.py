"""staff accounts: accounts, role grants, console sessions, the audit log and the duty roster

Revision ID: 0009
Revises: 0001
Create Date: 2026-12-03 07:30:00

Personal console accounts replace the shared STAFF_TOKEN sign-in (issue 12); the token stays the machine bearer.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0009'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)
NOW = sa.text('(CURRENT_TIMESTAMP)')


def upgrade() -> None:
    op.create_table('staff_accounts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('dingtalk_user_id', sa.String(length=64), nullable=True),
    sa.Column('wecom_user_id', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC, server_default=NOW, nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_accounts_username')),
    sa.UniqueConstraint('dingtalk_user_id', name=op.f('uq_staff_accounts_dingtalk_user_id')),
    sa.UniqueConstraint('wecom_user_id', name=op.f('uq_staff_accounts_wecom_user_id'))
    )
    op.create_table('staff_role_grants',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=32), server_default='', nullable=False),
    sa.Column('created_at', UTC, server_default=NOW, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], name=op.f('fk_staff_role_grants_account_id_staff_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_role_grants')),
    sa.UniqueConstraint('account_id', 'role', 'scope', name=op.f('uq_staff_role_grants_account_id_role_scope'))
    )
    with op.batch_alter_table('staff_role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_role_grants_account_id'), ['account_id'], unique=False)

    op.create_table('staff_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('last_seen_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('ended_at', UTC, nullable=True),
    sa.Column('address', sa.String(length=64), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], name=op.f('fk_staff_sessions_account_id_staff_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_staff_sessions'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), server_default='', nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target_kind', sa.String(length=32), server_default='', nullable=False),
    sa.Column('target_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('field', sa.String(length=64), server_default='', nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('address', sa.String(length=64), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], name=op.f('fk_audit_events_account_id_staff_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_target', ['target_kind', 'target_id'], unique=False)

    op.create_table('duty_roster',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('site_code', sa.String(length=32), server_default='', nullable=False),
    sa.Column('site_name', sa.String(length=128), server_default='', nullable=False),
    sa.Column('county', sa.String(length=32), server_default='', nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('dingtalk_user_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('wecom_user_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], name=op.f('fk_duty_roster_account_id_staff_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_duty_roster'))
    )
    with op.batch_alter_table('duty_roster', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_roster_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_table('duty_roster')
    op.drop_table('audit_events')
    op.drop_table('staff_sessions')
    op.drop_table('staff_role_grants')
    op.drop_table('staff_accounts')
