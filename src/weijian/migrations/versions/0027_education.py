"""education: education_activities, education_photos (健康教育, issue 17 part 6)

Revision ID: 0018_education
Revises: 0018_mental
Create Date: 2026-12-08

Written from care/education/models.py (autogenerate's shape). Two new tables; nothing existing altered.
"""
import sqlalchemy as sa
from alembic import op

import weijian.core.db

revision = "0018_education"
down_revision = "0018_mental"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('education_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('audience', sa.Integer(), nullable=False),
    sa.Column('created_at', weijian.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.CheckConstraint("audience >= 0", name=op.f('ck_education_activities_audience')),
    sa.CheckConstraint("kind in ('lecture', 'consultation', 'bulletin', 'materials', 'video')",
                       name=op.f('ck_education_activities_kind')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'],
                            name=op.f('fk_education_activities_facility_id_facilities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_education_activities'))
    )
    with op.batch_alter_table('education_activities', schema=None) as batch_op:
        batch_op.create_index('ix_education_activities_facility_date', ['facility_id', 'date'], unique=False)

    op.create_table('education_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=True),
    sa.Column('created_at', weijian.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['education_activities.id'],
                            name=op.f('fk_education_photos_activity_id_education_activities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_education_photos')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_education_photos_stored_name'))
    )
    with op.batch_alter_table('education_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_education_photos_activity_id'), ['activity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('education_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_education_photos_activity_id'))

    op.drop_table('education_photos')
    with op.batch_alter_table('education_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_education_activities_facility_date')

    op.drop_table('education_activities')
