"""Alembic environment: migrations run on a connection handed over by the registry."""

from alembic import context

from assay.registry._db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
