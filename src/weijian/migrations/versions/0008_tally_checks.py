"""tally_checks: each comparison of the running tallies with a fresh count, and each rebuild, for the
dashboard's warning (issue 15 item 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh folds later migrations into 0001).
"""
import sqlalchemy as sa
from alembic import op

import weijian.core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tally_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", weijian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("stale", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tally_checks")),
    )


def downgrade() -> None:
    op.drop_table("tally_checks")
