"""settlement: the terms each settlement ran on (a `settlement_terms` row per distinct policy text, and the
group's and level's terms that applied), and the day a row stopped counting (booked negative that month)

Revision ID: 0013_settlement_terms
Revises: 0013_merge_moves
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh is broken; issue 15 item 9). On SQLite plain ALTER TABLE
ADD/DROP COLUMN (3.35+), not batch mode: see upgrade().

Existing rows: `terms_id` and `applied_terms` are left NULL. What those rows were settled with was not
recorded (only `policy_id`), and a snapshot taken now from today's policy file would state as fact a term
that may have been edited since; the code re-settles and reproduces such a row from the bundled file of
its `policy_id`, and `weijian settlement simulate` says so ("terms: file") beside it.
`reversed_on` is backfilled, so that a reversed or superseded row stays out of the figures of the months
after it stopped counting: for a reversed row, the county's local day (Asia/Shanghai, the county clock's
default zone) of `reversed_at`; for a superseded row, the settlement day of the row that replaced it.
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import weijian.core.db
from weijian.core import clock

revision = "0013_settlement_terms"
down_revision = "0013_merge_moves"
branch_labels = None
depends_on = None



FK = "fk_settlements_terms_id_settlement_terms"
IX = "ix_settlements_reversed_on"


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    op.create_table(
        "settlement_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("created_at", weijian.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_terms")),
        sa.UniqueConstraint("digest", name=op.f("uq_settlement_terms_digest")),
    )
    if _sqlite():
        # Plain ALTER TABLE ADD COLUMN, the foreign key inline: batch mode would rebuild `settlements`, and
        # dropping a table that balances and re-settlements refer to fails with foreign keys on (they cannot
        # be switched off inside the migration's transaction).
        op.execute(f"ALTER TABLE settlements ADD COLUMN terms_id INTEGER CONSTRAINT {FK} "
                   "REFERENCES settlement_terms (id)")
    else:
        op.add_column("settlements", sa.Column("terms_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(FK), "settlements", "settlement_terms", ["terms_id"], ["id"])
    op.add_column("settlements", sa.Column("applied_terms", sa.Text(), nullable=True))
    op.add_column("settlements", sa.Column("reversed_on", sa.Date(), nullable=True))
    op.create_index(op.f(IX), "settlements", ["reversed_on"], unique=False)
    _backfill_reversed_on()


def _backfill_reversed_on() -> None:
    bind = op.get_bind()
    s = sa.table("settlements", sa.column("id", sa.Integer), sa.column("status", sa.String),
                 sa.column("reversed_at", sa.DateTime(timezone=True)), sa.column("replaces_id", sa.Integer),
                 sa.column("settled_on", sa.Date), sa.column("reversed_on", sa.Date))
    updates: list[dict[str, object]] = []
    for sid, moment in bind.execute(sa.select(s.c.id, s.c.reversed_at)
                                    .where(s.c.status == "reversed", s.c.reversed_at.is_not(None))):
        if isinstance(moment, str):  # SQLite hands back text for a column typed by name here
            moment = datetime.fromisoformat(moment)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)  # stored in UTC
        updates.append({"sid": sid, "day": clock.local_date(moment)})  # the county's day (WEIJIAN_TIMEZONE)
    for old_id, day in bind.execute(sa.select(s.c.replaces_id, s.c.settled_on).where(s.c.replaces_id.is_not(None))):
        updates.append({"sid": old_id, "day": day})
    if updates:
        bind.execute(sa.update(s).where(s.c.id == sa.bindparam("sid")).values(reversed_on=sa.bindparam("day")),
                     updates)


def downgrade() -> None:
    op.drop_index(op.f(IX), table_name="settlements")
    if _sqlite():  # native DROP COLUMN (SQLite 3.35+), no rebuild: see upgrade()
        for name in ("reversed_on", "applied_terms", "terms_id"):
            op.execute(f"ALTER TABLE settlements DROP COLUMN {name}")
    else:
        op.drop_constraint(op.f(FK), "settlements", type_="foreignkey")
        for name in ("reversed_on", "applied_terms", "terms_id"):
            op.drop_column("settlements", name)
    op.drop_table("settlement_terms")
