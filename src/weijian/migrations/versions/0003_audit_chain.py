"""audit_events hash chain: seq and chain_hash on every row, the signed chain head, ids never reused

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Existing rows are chained here, in id order, with the audit key (core/keys.py: WEIJIAN_AUDIT_KEY or the
key file, made on first use). On SQLite the table is rebuilt with AUTOINCREMENT, which drops its
triggers: they are made again, with one more that refuses an insert over an existing id (`INSERT OR
REPLACE` deletes the old row without firing delete triggers). PostgreSQL's serial id is a sequence already
and its primary key refuses such an insert (`ON CONFLICT DO UPDATE` is an update: refused by 0002).

Before the first release 0001 is regenerated from the models (scripts/regen_initial_migration.sh); it
then makes the columns and the head table itself, and this migration only adds the head row and the
triggers (and its downgrade only removes those).
"""
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit_events is append-only"
NO_REUSE = "audit_events ids are never reused"
SQLITE_TRIGGERS = ("audit_events_no_update", "audit_events_no_delete", "audit_events_no_id_reuse")


def _sqlite_triggers(*, with_insert: bool) -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                   f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    if with_insert:
        op.execute("CREATE TRIGGER audit_events_no_id_reuse BEFORE INSERT ON audit_events "
                   "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
                   f"BEGIN SELECT RAISE(ABORT, '{NO_REUSE}'); END")


def _made_by_0001() -> bool:
    """0001 regenerated from models that have the chain already makes its columns and table."""
    return "audit_chain_head" in Path(__file__).with_name("0001_initial_schema.py").read_text()


def upgrade() -> None:
    from weijian.accounts import audit_chain
    from weijian.core.db import keyring

    bind = op.get_bind()
    dialect = bind.dialect.name
    if _made_by_0001():  # no row can predate the chain: start it empty (unless it is there from before)
        head = sa.table("audit_chain_head", *[sa.column(c) for c in ("id", "seq", "event_id", "hash", "signature")])
        if bind.execute(sa.select(sa.func.count()).select_from(head)).scalar() == 0:
            op.bulk_insert(head, [audit_chain.genesis_head(keyring(bind).audit())])
        if dialect == "sqlite":
            op.execute("CREATE TRIGGER audit_events_no_id_reuse BEFORE INSERT ON audit_events "
                       "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
                       f"BEGIN SELECT RAISE(ABORT, '{NO_REUSE}'); END")
        return
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete")

    with op.batch_alter_table("audit_events", recreate="always" if dialect == "sqlite" else "auto",
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))

    head_table = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )

    # Chain what is there, in id order.
    key = keyring(bind).audit()
    events = sa.table("audit_events", *[sa.column(c.name, c.type) for c in
                                        audit_chain.AuditEvent.__table__.columns])
    present = {c["name"] for c in sa.inspect(bind).get_columns("audit_events")}
    cols = [c for c in events.c if c.name in present]
    seq, prev, last_id = 0, audit_chain.GENESIS, None
    rows = bind.execute(sa.select(*cols).order_by(events.c.id)).mappings().all()
    for row in rows:
        seq += 1
        values = {**row, "seq": seq}
        prev = audit_chain.row_hash(key, prev, values)
        bind.execute(events.update().where(events.c.id == row["id"]).values(seq=seq, chain_hash=prev))
        last_id = row["id"]
    op.bulk_insert(head_table, [dict(id=audit_chain.HEAD_ID, seq=seq, event_id=last_id, hash=prev,
                                     signature=audit_chain.head_signature(key, seq, last_id, prev))])

    with op.batch_alter_table("audit_events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("chain_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_seq"), ["seq"])

    if dialect == "sqlite":
        _sqlite_triggers(with_insert=True)
    else:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if _made_by_0001():
        if dialect == "sqlite":
            op.execute("DROP TRIGGER IF EXISTS audit_events_no_id_reuse")
        return
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events", recreate="always" if dialect == "sqlite" else "auto") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_events_seq"), type_="unique")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("seq")
    if dialect == "sqlite":
        _sqlite_triggers(with_insert=False)
