"""One Alembic revision a file, oldest first; never edit one that has shipped, add the next."""
