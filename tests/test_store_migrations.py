"""The Alembic migrations build exactly the tables the models declare (0002_office_review included)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables)
from bot.store.db import open_database


def test_migrations_match_the_models(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
