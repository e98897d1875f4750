"""The database schema's history as Alembic revisions, shipped with the code; `knowledge.schema` applies them."""
