"""resident_distinct_pairs: probable duplicates a clerk marked "not the same person"

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh is not used). A plain create_table works on SQLite and
PostgreSQL alike; nothing existing is altered.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_distinct_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["first_id"], ["residents.id"],
                                name=op.f("fk_resident_distinct_pairs_first_id_residents")),
        sa.ForeignKeyConstraint(["second_id"], ["residents.id"],
                                name=op.f("fk_resident_distinct_pairs_second_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_distinct_pairs")),
        sa.UniqueConstraint("first_id", "second_id", name="uq_resident_distinct_pairs"),
    )
    op.create_index(op.f("ix_resident_distinct_pairs_second_id"), "resident_distinct_pairs", ["second_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_resident_distinct_pairs_second_id"), table_name="resident_distinct_pairs")
    op.drop_table("resident_distinct_pairs")
