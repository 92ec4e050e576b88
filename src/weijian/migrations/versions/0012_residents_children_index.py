"""residents: an index on (birth_date, status, village_code, id) for the immunization recall lists

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A county's recall list for a week counts the children of the area and picks those whose stored next due
date falls in the week (immunization.recall.queries): with every column those two queries read in one
index, neither reads the 86,000 children's rows (issue 14 item 11).
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_residents_children", "residents", ["birth_date", "status", "village_code", "id"])


def downgrade() -> None:
    op.drop_index("ix_residents_children", table_name="residents")
