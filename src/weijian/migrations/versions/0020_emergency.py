"""Zoonoses and public-health emergencies (issue 16 parts 6–7): zoonosis_exposures, screening_campaigns;
emergency_events, emergency_timeline, response_teams, team_members, deployments, drills, reserve_supplies

Revision ID: 0017_emergency
Revises: 0017_tb
Create Date: 2026-12-07

New tables only (plain create_table: SQLite and PostgreSQL alike); nothing existing is altered, nothing to
backfill.
"""

import sqlalchemy as sa
from alembic import op

from weijian.core.db import UTCDateTime

revision = "0017_emergency"
down_revision = "0017_tb"
branch_labels = None
depends_on = None

TABLES = (
    "zoonosis_exposures",
    "team_members",
    "emergency_timeline",
    "deployments",
    "screening_campaigns",
    "emergency_events",
    "drills",
    "response_teams",
    "reserve_supplies",
)


def upgrade() -> None:
    op.create_table(
        "reserve_supplies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_reserve_supplies_quantity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_supplies")),
    )
    op.create_table(
        "response_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_response_teams_name")),
    )
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("participants >= 0", name=op.f("ck_drills_participants")),
        sa.ForeignKeyConstraint(["team_id"], ["response_teams.id"], name=op.f("fk_drills_team_id_response_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
    )
    op.create_table(
        "emergency_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=False),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("discovered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("orgunit_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["orgunit_code"], ["orgunits.code"], name=op.f("fk_emergency_events_orgunit_code_orgunits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_events")),
    )
    op.create_index("ix_emergency_events_occurred", "emergency_events", ["occurred_at"], unique=False)
    op.create_table(
        "screening_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disease", sa.String(length=32), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("screened", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "screened >= 0 AND positives >= 0 AND positives <= screened", name=op.f("ck_screening_campaigns_counts")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["orgunits.code"], name=op.f("fk_screening_campaigns_village_code_orgunits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_campaigns")),
    )
    op.create_index(
        "ix_screening_campaigns_village",
        "screening_campaigns",
        ["village_code", "disease", "screened_on"],
        unique=False,
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployed_on", sa.Date(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("people > 0", name=op.f("ck_deployments_people")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["emergency_events.id"], name=op.f("fk_deployments_event_id_emergency_events")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["response_teams.id"], name=op.f("fk_deployments_team_id_response_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index("ix_deployments_day", "deployments", ["deployed_on"], unique=False)
    op.create_index(op.f("ix_deployments_event_id"), "deployments", ["event_id"], unique=False)
    op.create_table(
        "emergency_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["emergency_events.id"], name=op.f("fk_emergency_timeline_event_id_emergency_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_timeline")),
    )
    op.create_index(op.f("ix_emergency_timeline_event_id"), "emergency_timeline", ["event_id"], unique=False)
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["response_teams.id"], name=op.f("fk_team_members_team_id_response_teams")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_team_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
    )
    op.create_index(op.f("ix_team_members_team_id"), "team_members", ["team_id"], unique=False)
    op.create_table(
        "zoonosis_exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("disease", sa.String(length=32), nullable=False),
        sa.Column("exposure_kinds", sa.Text(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("diagnosis_date", sa.Date(), nullable=True),
        sa.Column("case_report_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_zoonosis_exposures_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["village_code"], ["orgunits.code"], name=op.f("fk_zoonosis_exposures_village_code_orgunits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoonosis_exposures")),
    )
    op.create_index(op.f("ix_zoonosis_exposures_resident_id"), "zoonosis_exposures", ["resident_id"], unique=False)
    op.create_index("ix_zoonosis_exposures_village", "zoonosis_exposures", ["village_code", "disease"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
