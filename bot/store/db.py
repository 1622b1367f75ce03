"""Engine from a URL (SQLite by default, PostgreSQL with psycopg 3) and migrations at start-up."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlmodel import create_engine

from bot.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (test_store_schema holds it to Alembic's head). A
# start on a schema already there needs no Alembic: its import alone (mako and pygments with it)
# took ~0.12 s of the ~0.7 s before a service reads its first mail.
SCHEMA_HEAD = "0006_outbox_raw_uncompressed"


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Storage files are private to the service user.
            path.touch(mode=0o600)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        engine = create_engine(url)
        _ping_after_idle(engine)
        return engine
    raise ConfigError(f"不支持的 database_url“{masked(url)}”：应为 sqlite:///路径 或 postgresql://…")


# A pooled connection that sat idle may have been cut (a server restart, a firewall's idle timeout),
# so it is tested before use. One in steady use is not: pool_pre_ping's test is a round trip per
# checkout, a third of the transactions PostgreSQL saw during a backlog (3.6 a mail with it, 2.4
# without), each spent on a connection used a moment ago.
IDLE_BEFORE_PING_S = 1.0


def _ping_after_idle(engine: Engine, idle_s: float = IDLE_BEFORE_PING_S) -> None:
    @event.listens_for(engine, "checkin")
    def _stamp(dbapi_conn, record) -> None:
        if dbapi_conn is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy) -> None:
        # record.info is emptied when a connection is replaced, so a new one is never pinged.
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError(str(exc)) from exc


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


MIGRATION_LOCK = 0x72656362  # any constant; PostgreSQL advisory locks are keyed by a number


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it already is). Two
    processes starting together take turns, or the second would create the tables again."""
    if _at_head(engine):
        return
    from alembic import command  # only when there is something to migrate (SCHEMA_HEAD)

    cfg = _alembic_config()
    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def _migration_lock(engine: Engine):
    """SQLite has no advisory locks: a lock file beside the database does the same."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database:
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _at_head(engine: Engine) -> bool:
    """Whether the database's schema is SCHEMA_HEAD, read without Alembic (False for a database
    never migrated: it has no version table yet)."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False
    return versions == [SCHEMA_HEAD]


def _alembic_config():
    from alembic.config import Config as AlembicConfig  # see SCHEMA_HEAD

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows, as Alembic reads it from the migrations."""
    from alembic.script import ScriptDirectory  # see SCHEMA_HEAD

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext  # see SCHEMA_HEAD

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str) -> Engine:
    """The engine, migrated. A database that cannot be reached or read is one line for the
    operator, with the password of the URL masked (the URL may come from the environment)."""
    try:
        engine = make_engine(url)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise ConfigError(f"数据库 {masked(url)} 无法打开：{_first_line(exc)}") from None
    return engine


def masked(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL: show none of it
        return "(unreadable database URL)"


def _first_line(exc: BaseException) -> str:
    """The driver's own reason without SQLAlchemy's statement and help-link lines."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__)[:300]


def private_umask() -> None:
    """Files the bot creates (archive, documents, database) are readable by the service user only."""
    os.umask(0o077)
