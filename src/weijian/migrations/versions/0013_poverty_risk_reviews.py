"""settlement: poverty_risk_reviews, the bureau's status of each person the poverty-risk list flags

Revision ID: 0013_poverty_reviews
Revises: 0012
Create Date: 2026-12-07

One row per resident: to_check (待核查) / helped (已帮扶) / closed (已关闭), the note, who and when (issue 15
item 8). A new table: nothing to move.
"""
import sqlalchemy as sa
from alembic import op

import weijian.core.db

revision = "0013_poverty_reviews"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poverty_risk_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", weijian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", weijian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('to_check', 'helped', 'closed')",
                           name=op.f("ck_poverty_risk_reviews_status")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_poverty_risk_reviews_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poverty_risk_reviews")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_poverty_risk_reviews_resident_id")),
    )


def downgrade() -> None:
    op.drop_table("poverty_risk_reviews")
