"""surveillance_signals: the early-warning signals (one per disease, org unit, method and day) with their
lifecycle; surveillance_signal_cases: the case reports linked to a signal

Revision ID: 0017_signals
Revises: 0017_case_reports
Create Date: 2026-12-07

Hand-written. New tables only; nothing existing is altered. surveillance_signal_cases.case_report_id is a plain
integer without a foreign key: the case reports' table is built at the same time (issue 16); the lead adds the
key when both are merged.
"""
import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0017_signals"
down_revision = "0017_case_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveillance_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disease_code", sa.String(length=32), nullable=False),
        sa.Column("orgunit_code", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("signal_date", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detected_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("verify_due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verification_note", sa.Text(), nullable=True),
        sa.Column("responded_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.String(length=64), nullable=True),
        sa.Column("response_notes", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveillance_signals")),
        sa.UniqueConstraint("disease_code", "orgunit_code", "method", "signal_date",
                            name=op.f("uq_surveillance_signals_disease_code_orgunit_code_method_signal_date")),
    )
    op.create_index("ix_surveillance_signals_state_due", "surveillance_signals", ["state", "verify_due_at"])
    op.create_index("ix_surveillance_signals_date", "surveillance_signals", ["signal_date", "disease_code"])
    op.create_table(
        "surveillance_signal_cases",
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("case_report_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["signal_id"], ["surveillance_signals.id"], ondelete="CASCADE",
                                name=op.f("fk_surveillance_signal_cases_signal_id_surveillance_signals")),
        sa.PrimaryKeyConstraint("signal_id", "case_report_id", name=op.f("pk_surveillance_signal_cases")),
    )


def downgrade() -> None:
    op.drop_table("surveillance_signal_cases")
    op.drop_index("ix_surveillance_signals_date", table_name="surveillance_signals")
    op.drop_index("ix_surveillance_signals_state_due", table_name="surveillance_signals")
    op.drop_table("surveillance_signals")
