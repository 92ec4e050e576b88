"""resident merges carry the history: the rows each merge moved, and merges that can be undone

Revision ID: 0013_merge_moves
Revises: 0013_poverty_reviews
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh is not used). `resident_merge_moves` lists every row a
merge changed (issue 15 item 3); `resident_merges` gains who undid a merge, when and why, and its unique
merged_id becomes a partial unique index over the merges not undone (a record merged, unmerged, then merged
again has two rows). The constraint change goes through batch_alter_table, so SQLite rebuilds the table.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0013_merge_moves"
down_revision = "0013_poverty_reviews"
branch_labels = None
depends_on = None

_LIVE = "undone_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("resident_merges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undone_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("undone_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("undo_reason", sa.String(length=200), nullable=True))
        batch_op.drop_constraint("uq_resident_merges_merged_id", type_="unique")
    op.create_index("uq_resident_merges_live", "resident_merges", ["merged_id"], unique=True,
                    sqlite_where=sa.text(_LIVE), postgresql_where=sa.text(_LIVE))
    op.create_table(
        "resident_merge_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merge_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=32), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["merge_id"], ["resident_merges.id"],
                                name=op.f("fk_resident_merge_moves_merge_id_resident_merges")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_merge_moves")),
        sa.UniqueConstraint("merge_id", "seq", name="uq_resident_merge_moves_seq"),
    )


def downgrade() -> None:
    op.drop_table("resident_merge_moves")
    op.drop_index("uq_resident_merges_live", table_name="resident_merges")
    with op.batch_alter_table("resident_merges", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_resident_merges_merged_id", ["merged_id"])
        batch_op.drop_column("undo_reason")
        batch_op.drop_column("undone_by")
        batch_op.drop_column("undone_at")
