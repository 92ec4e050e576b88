"""case_reports and case_report_revisions: notifiable-disease case reports (传染病报告卡) and their history
(订正, deletion with a reason, duplicates merged)

Revision ID: 0017_case_reports
Revises: 0013_residences
Create Date: 2026-12-07

Hand-written; two new tables, nothing existing altered. Issue 16 part 2.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0017_case_reports"
down_revision = "0013_residences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("disease", sa.String(length=32), nullable=False),
        sa.Column("icd10", sa.String(length=10), nullable=True),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("diagnosed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=True),
        sa.Column("doctor_name", sa.String(length=64), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("limit_hours", sa.Integer(), nullable=False),
        sa.Column("delay_hours", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("encounter_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["resident_id"], ["residents.id"], name=op.f("fk_case_reports_resident_id_residents")),
        sa.ForeignKeyConstraint(["facility_id"], ["facilities.id"],
                                name=op.f("fk_case_reports_facility_id_facilities")),
        sa.ForeignKeyConstraint(["doctor_id"], ["users.id"], name=op.f("fk_case_reports_doctor_id_users")),
        sa.ForeignKeyConstraint(["village_code"], ["orgunits.code"],
                                name=op.f("fk_case_reports_village_code_orgunits")),
        sa.ForeignKeyConstraint(["township_code"], ["orgunits.code"],
                                name=op.f("fk_case_reports_township_code_orgunits")),
        sa.ForeignKeyConstraint(["duplicate_of"], ["case_reports.id"],
                                name=op.f("fk_case_reports_duplicate_of_case_reports")),
        sa.ForeignKeyConstraint(["encounter_id"], ["encounters.id"],
                                name=op.f("fk_case_reports_encounter_id_encounters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reports")),
    )
    op.create_index("ix_case_reports_resident_id", "case_reports", ["resident_id"])
    op.create_index("ix_case_reports_disease_onset", "case_reports", ["disease", "onset_date", "township_code"])
    op.create_index("ix_case_reports_facility_reported", "case_reports", ["facility_id", "reported_at"])
    op.create_table(
        "case_report_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("by_name", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["case_reports.id"],
                                name=op.f("fk_case_report_revisions_report_id_case_reports")),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_case_report_revisions_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_report_revisions")),
    )
    op.create_index("ix_case_report_revisions_report_id", "case_report_revisions", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_case_report_revisions_report_id", table_name="case_report_revisions")
    op.drop_table("case_report_revisions")
    op.drop_index("ix_case_reports_facility_reported", table_name="case_reports")
    op.drop_index("ix_case_reports_disease_onset", table_name="case_reports")
    op.drop_index("ix_case_reports_resident_id", table_name="case_reports")
    op.drop_table("case_reports")
