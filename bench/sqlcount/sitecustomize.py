"""Counts the bot's SQL, by thread: loaded by Python at start-up when bench/sqlcount is on PYTHONPATH.

Only the bench's counting run puts it there (pyspy_profile.count_sql); the bot's code is unchanged. Every
statement SQLAlchemy sends, every commit and every connection checkout (one per Session) is counted by
the thread that did it, and the counts are written as JSON to $RB_BENCH_SQLCOUNT.<pid> at exit (the
worker processes never touch the database and write nothing).
"""

import atexit
import collections
import json
import os
import threading

_counts = collections.Counter()


def _thread() -> str:
    return threading.current_thread().name


def _install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    @event.listens_for(Engine, "before_cursor_execute")
    def statement(conn, cursor, text, params, context, executemany):
        _counts[f"{_thread()}\t{text.split(None, 1)[0].upper() if text.strip() else '?'}"] += 1

    @event.listens_for(Engine, "commit")
    def commit(conn):
        _counts[f"{_thread()}\tCOMMIT"] += 1

    @event.listens_for(Pool, "checkout")
    def checkout(dbapi_conn, record, proxy):
        _counts[f"{_thread()}\tcheckout"] += 1


def _dump() -> None:
    if _counts:
        with open(f"{os.environ['RB_BENCH_SQLCOUNT']}.{os.getpid()}", "w") as fh:
            json.dump(dict(_counts), fh)


if os.environ.get("RB_BENCH_SQLCOUNT"):
    _install()
    atexit.register(_dump)
