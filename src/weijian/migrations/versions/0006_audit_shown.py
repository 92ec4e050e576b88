"""audit_shown: the residents each list or search showed, append-only like audit_events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

One row per (audit event seq, resident id), written with the event (accounts/audit_chain.py `append`);
the same ids are in the event's detail (`shown`), which the chain's hash covers, and `weijian audit
verify` checks the two agree. UPDATE and DELETE are refused by triggers, as on audit_events.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MESSAGE = "audit_shown is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_shown",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("resident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("seq", "resident_id", name=op.f("pk_audit_shown")),
    )
    op.create_index("ix_audit_shown_resident_seq", "audit_shown", ["resident_id", "seq"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_shown_no_{verb.lower()} BEFORE {verb} ON audit_shown "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
    elif dialect == "postgresql":
        op.execute("CREATE FUNCTION audit_shown_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation'; END; $$")
        op.execute("CREATE TRIGGER audit_shown_no_update_delete BEFORE UPDATE OR DELETE ON audit_shown "
                   "FOR EACH ROW EXECUTE FUNCTION audit_shown_append_only()")
        op.execute("CREATE TRIGGER audit_shown_no_truncate BEFORE TRUNCATE ON audit_shown "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_shown_append_only()")
    else:
        raise NotImplementedError(f"weijian supports SQLite and PostgreSQL, not {dialect}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_shown_no_truncate ON audit_shown")
        op.execute("DROP TRIGGER IF EXISTS audit_shown_no_update_delete ON audit_shown")
        op.execute("DROP FUNCTION IF EXISTS audit_shown_append_only()")
    op.drop_index("ix_audit_shown_resident_seq", table_name="audit_shown")
    op.drop_table("audit_shown")
