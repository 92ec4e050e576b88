"""tb_suspects, tb_treatments, tb_first_visits, tb_doses, tb_follow_ups: TB patient management (肺结核患者
健康管理, issue 16 part 5)

Revision ID: 0017_tb
Revises: 0017_signals
Create Date: 2026-12-07

Hand-written. Plain create_table calls that work on SQLite and PostgreSQL alike; nothing existing is altered.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0017_tb"
down_revision = "0017_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tb_suspects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("symptoms", sa.String(length=200), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("referred_to", sa.String(length=100), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"], name=op.f("fk_tb_suspects_facility_id_facilities")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_tb_suspects_resident_id_residents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tb_suspects")),
    )
    op.create_index(op.f("ix_tb_suspects_resident_id"), "tb_suspects", ["resident_id"])
    op.create_table(
        "tb_treatments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("suspect_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("regimen", sa.String(length=16), nullable=False),
        sa.Column("drug_resistant", sa.Boolean(), nullable=False),
        sa.Column("supervisor_kind", sa.String(length=16), nullable=False),
        sa.Column("supervisor_name", sa.String(length=64), nullable=False),
        sa.Column("planned_months", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"],
                                name=op.f("fk_tb_treatments_facility_id_facilities")),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"],
                                name=op.f("fk_tb_treatments_resident_id_residents")),
        sa.ForeignKeyConstraint(["suspect_id"], ["tb_suspects.id"],
                                name=op.f("fk_tb_treatments_suspect_id_tb_suspects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tb_treatments")),
    )
    op.create_index(op.f("ix_tb_treatments_resident_id"), "tb_treatments", ["resident_id"])
    op.create_index("ix_tb_treatments_outcome", "tb_treatments", ["outcome", "start_date"])
    op.create_table(
        "tb_first_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["treatment_id"], ["tb_treatments.id"],
                                name=op.f("fk_tb_first_visits_treatment_id_tb_treatments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tb_first_visits")),
        sa.UniqueConstraint("treatment_id", name=op.f("uq_tb_first_visits_treatment_id")),
    )
    op.create_table(
        "tb_doses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("taken", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["treatment_id"], ["tb_treatments.id"],
                                name=op.f("fk_tb_doses_treatment_id_tb_treatments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tb_doses")),
        sa.UniqueConstraint("treatment_id", "date", name="uq_tb_doses_treatment_date"),
    )
    op.create_table(
        "tb_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["treatment_id"], ["tb_treatments.id"],
                                name=op.f("fk_tb_follow_ups_treatment_id_tb_treatments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tb_follow_ups")),
    )
    op.create_index("ix_tb_follow_ups_treatment_date", "tb_follow_ups", ["treatment_id", "date"])


def downgrade() -> None:
    op.drop_index("ix_tb_follow_ups_treatment_date", table_name="tb_follow_ups")
    op.drop_table("tb_follow_ups")
    op.drop_table("tb_doses")
    op.drop_table("tb_first_visits")
    op.drop_index("ix_tb_treatments_outcome", table_name="tb_treatments")
    op.drop_index(op.f("ix_tb_treatments_resident_id"), table_name="tb_treatments")
    op.drop_table("tb_treatments")
    op.drop_index(op.f("ix_tb_suspects_resident_id"), table_name="tb_suspects")
    op.drop_table("tb_suspects")
