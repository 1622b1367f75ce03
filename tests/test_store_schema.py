"""The migrations build exactly the tables the models declare (a new table or column needs both)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401 - registers the tables on SQLModel.metadata
from bot.store.db import SCHEMA_HEAD, current_revision, head_revision, make_engine, migrate, open_database

REPO = Path(__file__).resolve().parents[1]


def test_migrations_match_the_models(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    assert current_revision(engine) == head_revision()


def test_schema_head_names_the_newest_migration():
    assert SCHEMA_HEAD == head_revision()


def test_a_start_on_a_current_schema_loads_no_alembic(tmp_path):
    """The version table is read with one query; Alembic (and mako, pygments) is imported only
    when there is something to migrate. The check runs in a fresh interpreter."""
    url = f"sqlite:///{tmp_path}/bot.db"
    script = ("import sys; from bot.store.db import open_database; open_database(sys.argv[1]); "
              "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    first = subprocess.run([sys.executable, "-c", script, url], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=120, check=True)
    again = subprocess.run([sys.executable, "-c", script, url], env=env, cwd=REPO, capture_output=True,
                           text=True, timeout=120, check=True)
    assert first.stdout.strip() == "['alembic', 'mako', 'pygments']"  # a new database is migrated
    assert again.stdout.strip() == "[]"
    assert current_revision(make_engine(url)) == SCHEMA_HEAD


def test_a_database_behind_the_head_is_migrated(tmp_path):
    """An older schema (here: one revision back) is not taken for the current one."""
    engine = open_database(f"sqlite:///{tmp_path}/bot.db")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_office_review'"))
        conn.execute(text("DROP INDEX ix_inbound_mail_sender_received"))
    migrate(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    with engine.connect() as conn:
        names = {row[1] for row in conn.execute(text("PRAGMA index_list('inbound_mail')"))}
    assert "ix_inbound_mail_sender_received" in names


def test_postgresql_keeps_an_outgoing_mails_bytes_uncompressed_and_a_downgrade_compresses_them(pg_url):
    """The outbox's mail bytes, mostly base64, are stored out of line as they are: PostgreSQL's
    compression hardly shrinks them and costs its server CPU for every answer (0006)."""
    from alembic import command

    from bot.store.db import _alembic_config

    def storage(engine) -> str:
        with engine.connect() as conn:
            return conn.execute(text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'outbox'::regclass "
                                     "AND attname = 'raw'")).scalar_one()

    engine = open_database(pg_url)
    assert current_revision(engine) == SCHEMA_HEAD and storage(engine) == "e"  # EXTERNAL
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_sender_index")
    assert storage(engine) == "x"  # EXTENDED, PostgreSQL's default for bytea
    migrate(engine)
    assert storage(engine) == "e"
