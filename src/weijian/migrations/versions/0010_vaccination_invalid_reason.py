"""vaccinations.invalid_reason: why a dose counts for nothing (issue 14 item 7)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Null for a valid dose; otherwise the engine's reason (before_min_age, before_min_interval,
live_within_28_days), judged on write by the schedule edition in force on the day the dose was given.
Rows written before this revision stay null until `weijian immunization refresh-due` (or the next dose
recorded for the child) judges them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vaccinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invalid_reason", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vaccinations", schema=None) as batch_op:
        batch_op.drop_column("invalid_reason")
