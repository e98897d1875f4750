"""Alembic's entry point: runs the revisions on the connection `knowledge.schema` hands over, in its transaction."""

from alembic import context

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters a table by copying it, and batch mode does that for `alembic revision --autogenerate`.
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
