"""Settlement layers of issue 15: the employee scheme's 大额医疗费用补助, the medical-assistance 起付标准
and 倾斜救助 (国办发〔2021〕42号), each stay's part and the year's accumulations of them, and whether
the stay came on a referral

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

Hand-written (scripts/regen_initial_migration.sh is broken). Existing rows get 0 for every new amount: the
layers did not exist when they were settled. batch_alter_table so SQLite can add the NOT NULL columns.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)
ACC = ("large_expense_paid", "assistance_deductible_paid", "tilt_share", "tilt_assistance_paid")
PARTS = ("large_expense_pays", "assistance_deductible", "tilt_assistance_pays")
SETTLEMENT_COLUMNS = (*PARTS, *(f"before_{n}" for n in ACC), *(f"after_{n}" for n in ACC))


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        for name in SETTLEMENT_COLUMNS:
            batch.add_column(sa.Column(name, MONEY, nullable=False, server_default="0"))
        batch.add_column(sa.Column("referred", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("settlement_years") as batch:
        for name in ACC:
            batch.add_column(sa.Column(name, MONEY, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("settlement_years") as batch:
        for name in reversed(ACC):
            batch.drop_column(name)
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("referred")
        for name in reversed(SETTLEMENT_COLUMNS):
            batch.drop_column(name)
