"""PostgreSQL connections: one cut while idle is replaced unseen; one in steady use is not pinged."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.store.db import IDLE_BEFORE_PING_S, make_engine, normalise_url

pytestmark = pytest.mark.rig


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _cut(pg_url: str, pid: int) -> None:
    """What a server restart or a firewall's idle timeout does to a pooled connection."""
    admin = create_engine(normalise_url(pg_url))
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    admin.dispose()


def _count_pings(monkeypatch, engine) -> list:
    """The liveness tests the pool makes, recorded (each still runs)."""
    real, calls = engine.dialect.do_ping, []

    def ping(dbapi_conn):
        calls.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    return calls


def test_a_connection_cut_while_idle_is_replaced_without_an_error(pg_url):
    engine = make_engine(pg_url)
    first = _backend_pid(engine)
    _cut(pg_url, first)
    time.sleep(IDLE_BEFORE_PING_S + 0.2)
    assert _backend_pid(engine) != first
    engine.dispose()


def test_without_the_idle_test_the_same_cut_is_an_error(pg_url):
    """The control for the test above: the pool alone hands out the dead connection."""
    engine = create_engine(normalise_url(pg_url))
    first = _backend_pid(engine)
    _cut(pg_url, first)
    time.sleep(IDLE_BEFORE_PING_S + 0.2)
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url, monkeypatch):
    engine = make_engine(pg_url)
    pings = _count_pings(monkeypatch, engine)
    pids = {_backend_pid(engine) for _ in range(50)}
    assert len(pids) == 1 and pings == []
    time.sleep(IDLE_BEFORE_PING_S + 0.2)
    assert _backend_pid(engine) in pids
    assert len(pings) == 1
    engine.dispose()
