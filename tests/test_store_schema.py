"""The migrations build exactly the tables the models declare (a new table or column needs both)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401 - registers the tables on SQLModel.metadata
from bot.store.db import current_revision, head_revision, open_database


def test_migrations_match_the_models(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    assert current_revision(engine) == head_revision()
