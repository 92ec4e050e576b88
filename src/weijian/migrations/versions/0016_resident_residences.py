"""resident_residences: each resident's residence history (village and status from an effective date);
resident_populations: the statistics office's year-end resident population per org unit and year

Revision ID: 0013_residences
Revises: 0013_settlement_terms
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh is not used). A plain create_table and one INSERT ...
SELECT work on SQLite and PostgreSQL alike; nothing existing is altered. Backfill: one open row per
resident (since always, until further notice) in its current village and status — the registry kept no
dates before this table, so the history starts as "lived there all along" (a merged duplicate's row
says active: "merged" is read from the resident's own status). resident_populations starts empty.
Issue 15 item 13.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

from weijian.core import clock
from weijian.core.db import UTCDateTime

revision = "0013_residences"
down_revision = "0013_settlement_terms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_residences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], ondelete="CASCADE",
                                name=op.f("fk_resident_residences_resident_id_residents")),
        sa.ForeignKeyConstraint(["village_code"], ["orgunits.code"],
                                name=op.f("fk_resident_residences_village_code_orgunits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_residences")),
    )
    op.create_index("ix_resident_residences_lookup", "resident_residences",
                    ["resident_id", "valid_from", "valid_to", "village_code", "status"])
    op.create_index("ix_resident_residences_village", "resident_residences",
                    ["village_code", "valid_from", "valid_to", "status", "resident_id"])
    op.create_table(
        "resident_populations",
        sa.Column("orgunit_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["orgunit_code"], ["orgunits.code"],
                                name=op.f("fk_resident_populations_orgunit_code_orgunits")),
        sa.PrimaryKeyConstraint("orgunit_code", "year", name=op.f("pk_resident_populations")),
    )
    residents = sa.table("residents", sa.column("id", sa.Integer()), sa.column("village_code", sa.String()),
                         sa.column("status", sa.String()))
    residences = sa.table("resident_residences", *(sa.column(c) for c in (
        "resident_id", "valid_from", "valid_to", "village_code", "status", "recorded_at")))
    # Bound dates (not DATE '...' literals, which SQLite does not parse); SQLite stores them as text, the
    # same ISO text the models' Date columns write.
    since = sa.literal(date(1900, 1, 1), sa.Date())
    until = sa.literal(date(9999, 12, 31), sa.Date())
    status = sa.case((residents.c.status == "merged", sa.literal("active")), else_=residents.c.status)
    op.execute(residences.insert().from_select(
        ["resident_id", "valid_from", "valid_to", "village_code", "status", "recorded_at"],
        sa.select(residents.c.id, since, until, residents.c.village_code, status,
                  sa.literal(clock.now(), UTCDateTime()))))

def downgrade() -> None:
    op.drop_table("resident_populations")
    op.drop_index("ix_resident_residences_village", table_name="resident_residences")
    op.drop_index("ix_resident_residences_lookup", table_name="resident_residences")
    op.drop_table("resident_residences")
