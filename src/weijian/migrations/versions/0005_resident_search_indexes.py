"""resident search at county size: covering search indexes, first letters of the pinyin keys

Revision ID: 0005
Revises: 0004_sessions
Create Date: 2026-12-07

The name, initials and pinyin indexes carry the columns a search's count and page of ids read (scope,
status, result order); two generated columns (the first letters of the initials and of the full pinyin)
lead indexes in name order; the village index covers a village doctor's searches. See residents.search.
On SQLite a generated column added by ALTER TABLE is VIRTUAL (computed on read, stored in its indexes);
on PostgreSQL it is STORED (the table is rewritten once).
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

PATTERN = "varchar_pattern_ops"


def upgrade() -> None:
    op.add_column("residents", sa.Column("initials_first", sa.String(length=1),
                                         sa.Computed("substr(name_initials, 1, 1)"), nullable=False))
    op.add_column("residents", sa.Column("pinyin_first", sa.String(length=1),
                                         sa.Computed("substr(name_pinyin, 1, 1)"), nullable=False))
    for name in ("ix_residents_name", "ix_residents_name_initials", "ix_residents_name_pinyin",
                 "ix_residents_village_code_name"):
        op.drop_index(name, table_name="residents")
    op.create_index("ix_residents_name", "residents", ["name", "id", "village_code", "status"],
                    postgresql_ops={"name": PATTERN})
    op.create_index("ix_residents_name_initials", "residents",
                    ["name_initials", "village_code", "status", "name", "id"],
                    postgresql_ops={"name_initials": PATTERN})
    op.create_index("ix_residents_name_pinyin", "residents",
                    ["name_pinyin", "village_code", "status", "name", "id"],
                    postgresql_ops={"name_pinyin": PATTERN})
    op.create_index("ix_residents_id_number", "residents", ["id_number", "village_code", "status"])
    op.create_index("ix_residents_initials_first_name", "residents",
                    ["initials_first", "name", "id", "name_initials", "village_code", "status"])
    op.create_index("ix_residents_pinyin_first_name", "residents",
                    ["pinyin_first", "name", "id", "name_pinyin", "village_code", "status"])
    op.create_index("ix_residents_village_code_name", "residents",
                    ["village_code", "name", "id", "status", "name_initials", "name_pinyin"])
    op.create_index("ix_residents_village_code_id_number", "residents", ["village_code", "id_number", "status"])


def downgrade() -> None:
    for name in ("ix_residents_village_code_id_number", "ix_residents_village_code_name",
                 "ix_residents_pinyin_first_name", "ix_residents_initials_first_name", "ix_residents_id_number",
                 "ix_residents_name_pinyin", "ix_residents_name_initials", "ix_residents_name"):
        op.drop_index(name, table_name="residents")
    op.create_index("ix_residents_name", "residents", ["name"], postgresql_ops={"name": PATTERN})
    op.create_index("ix_residents_name_initials", "residents", ["name_initials"],
                    postgresql_ops={"name_initials": PATTERN})
    op.create_index("ix_residents_name_pinyin", "residents", ["name_pinyin"], postgresql_ops={"name_pinyin": PATTERN})
    op.create_index("ix_residents_village_code_name", "residents", ["village_code", "name"])
    # Plain DDL: both databases drop a column in place (SQLite since 3.35), where Alembic's drop_column
    # would copy the whole table on SQLite (a batch migration).
    op.execute("ALTER TABLE residents DROP COLUMN pinyin_first")
    op.execute("ALTER TABLE residents DROP COLUMN initials_first")
