"""reminders: residents' "不用提醒了" opt-outs and WeChat subscription-notice consents

Revision ID: 0012
Revises: 0001
Create Date: 2026-12-06 09:00:00

`reminder_opt_outs`: one row per resident who asked for no more reminders. `wechat_consents`: one row per
"accept" of a one-time subscription notice template (订阅通知), consumed by one notice.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0012'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('reminder_opt_outs',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_reminder_opt_outs_resident_id_residents')),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_reminder_opt_outs'))
    )
    op.create_table('wechat_consents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scene', sa.String(length=32), nullable=False),
    sa.Column('granted_at', UTC, server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('used_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_consents'))
    )
    with op.batch_alter_table('wechat_consents', schema=None) as batch_op:
        batch_op.create_index('ix_wechat_consents_openid_template_id_status', ['openid', 'template_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wechat_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_wechat_consents_openid_template_id_status')
    op.drop_table('wechat_consents')
    op.drop_table('reminder_opt_outs')
