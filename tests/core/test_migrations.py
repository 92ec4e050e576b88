"""The schema is made only by Alembic: the migrations must produce exactly the models' schema."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from weijian.all_models import metadata


def test_migrations_produce_exactly_the_models_schema(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
