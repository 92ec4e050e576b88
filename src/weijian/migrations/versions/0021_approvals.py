"""period_approvals and period_corrections: approved (locked) periods per org unit, and the changes let
through afterwards as corrections (core.locks, indicators.approval; issue 15 item 14)

Revision ID: 0017_approvals
Revises: 0017_emergency
Create Date: 2026-12-07

Hand-written. Two new tables, nothing existing altered; both start empty.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0017_approvals"
down_revision = "0017_emergency"
branch_labels = None
depends_on = None

_ACTIVE = "unapproved_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "period_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("orgunit_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("approved_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("unapproved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("unapproved_by", sa.String(length=64), nullable=True),
        sa.Column("unapprove_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_approvals")),
    )
    op.create_index("uq_period_approvals_active", "period_approvals", ["orgunit_code", "period"], unique=True,
                    sqlite_where=sa.text(_ACTIVE), postgresql_where=sa.text(_ACTIVE))
    op.create_index("ix_period_approvals_unapproved_end", "period_approvals", ["unapproved_at", "period_end"])
    op.create_table(
        "period_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by", sa.String(length=64), nullable=False),
        sa.Column("corrected_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["approval_id"], ["period_approvals.id"],
                                name=op.f("fk_period_corrections_approval_id_period_approvals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_corrections")),
    )
    op.create_index(op.f("ix_period_corrections_approval_id"), "period_corrections", ["approval_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_period_corrections_approval_id"), table_name="period_corrections")
    op.drop_table("period_corrections")
    op.drop_index("ix_period_approvals_unapproved_end", table_name="period_approvals")
    op.drop_index("uq_period_approvals_active", table_name="period_approvals")
    op.drop_table("period_approvals")
