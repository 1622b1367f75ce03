"""The database: SQLModel tables, the engine from a URL, Alembic migrations at start-up."""
