"""Alembic environment: the engine comes from the caller (core.migrate), never from a URL in a file."""
from alembic import context

from weijian.all_models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER through table rebuilds
        compare_type=True,
    )
    context.run_migrations()
