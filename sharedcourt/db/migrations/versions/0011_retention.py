"""retention: conversations.purged_at and the job_runs lease of the daily purge

Revision ID: 0011
Revises: 0001
Create Date: 2026-12-05 09:00:00

The purge marks each conversation it emptied (so a daily run does not redo old ones) and claims its daily run
through a `job_runs` row, so two front doors never purge at the same time.
"""

from alembic import op
import sqlalchemy as sa
import sharedcourt.db.base


revision = '0011'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = sharedcourt.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=True),
    sa.Column('lease_until', UTC, nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('finished_at', UTC, nullable=True),
    sa.Column('last_counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    op.drop_table('job_runs')
