"""Partial unique indexes: one live downward referral per upward referral, one active chronic registration
per resident and programme

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Hand-written: scripts/regen_initial_migration.sh no longer reproduces 0001 alone (it folds 0003–0006 into
it), so this change is its own migration. Both engines enforce a partial unique index (WHERE clause).
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE_DOWNWARD = "parent_id IS NOT NULL AND status NOT IN ('rejected', 'cancelled')"
ACTIVE = "status = 'active'"


def upgrade() -> None:
    op.create_index("uq_referrals_one_live_downward", "referrals", ["parent_id"], unique=True,
                    sqlite_where=sa.text(LIVE_DOWNWARD), postgresql_where=sa.text(LIVE_DOWNWARD))
    op.create_index("uq_chronic_registrations_active", "chronic_registrations", ["resident_id", "program"],
                    unique=True, sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("uq_chronic_registrations_active", table_name="chronic_registrations")
    op.drop_index("uq_referrals_one_live_downward", table_name="referrals")
