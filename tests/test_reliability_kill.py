"""Reliability under crashes and concurrency, on the real servers (quality.md, "Reliability"):
kill -9 at random points while a backlog is processed, and two daemons on one mailbox and database.

Asserted on the real mailboxes (each enterprise's own INBOX, by IMAP) and on the database ledger.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

from bot.store.db import make_engine
from bot.store.models import InboundMail, Outbox
from tests.support.botenv import INTAKE, make_env, parse
from tests.support.reliability import form_mail, rows, wait_until

pytestmark = pytest.mark.rig

TODAY = "2026-12-01"
BACKLOG = 300  # forms, one sender each ("a few hundred")
SEED = int(os.environ.get("RB_KILL_SEED", "20261201"))  # another seed: other kill points
BUDGET = 75.0  # seconds of kill -9 / restart cycles; `run --once` finishes whatever is left


def inbox_count(rig, address: str, folder: str = "INBOX") -> int:
    with rig.imap(address) as c:
        return c.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"]


def replies_by_origin(rig, addresses) -> dict[str, list[tuple[str, str]]]:
    """In-Reply-To -> [(mailbox, reply Message-ID)] over the given mailboxes."""
    out: dict[str, list[tuple[str, str]]] = {}
    for address in addresses:
        for raw in rig.messages(address):
            msg = parse(raw)
            out.setdefault(str(msg["In-Reply-To"]).strip("<>"), []).append(
                (address, str(msg["Message-ID"])))
    return out


def explain_duplicates(answered: dict) -> dict:
    """For each form answered more than once: were the copies one outbox mail sent again (same
    Message-ID: a crash between SMTP acceptance and marking it sent) or two answers?"""
    return {mid: ("same Message-ID resent" if len({m for _a, m in got}) == 1 else "different answers", got)
            for mid, got in answered.items() if len(got) != 1}


# -- kill -9 while a backlog is processed ---------------------------------------------------------

def start_killable(bot, life: int) -> tuple[subprocess.Popen, object]:
    """The daemon exactly as the service runs it; a restarted one takes over the lease and the
    outbox claims of its killed predecessor at once (the holder's process is gone)."""
    log = bot.root / f"daemon-{life}.log"
    cmd = [sys.executable, "-m", "bot", "--config", str(bot.config), "--today", TODAY, "run"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=bot.root, env=bot.env(), stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, log


def test_kill_9_at_random_points_loses_nothing_and_answers_each_form_once(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = [f"k{i}@corp.test" for i in range(BACKLOG)]
    expected = {f"kill-{i}@corp.test": s for i, s in enumerate(senders)}
    for s in senders:
        rig.add_user(s)
        rig.clear(s)  # left over from an earlier run in this rig session
    with rig.imap(INTAKE) as c:
        for mid, sender in expected.items():
            c.append("INBOX", form_mail(sender, mid))

    def state() -> tuple[int, int, int]:
        ledger, out = rows(url, InboundMail), rows(url, Outbox)
        return (sum(r.status == "done" for r in ledger), sum(r.status == "sent" for r in out),
                sum(r.status == "pending" for r in out))

    rng = random.Random(SEED)
    lives: list[tuple[float, tuple]] = []
    started = time.monotonic()
    while time.monotonic() - started < BUDGET:
        done, _sent, pending = state()
        if done == BACKLOG and pending == 0 and inbox_count(rig, INTAKE) == 0:
            break
        proc, log = start_killable(bot, len(lives))
        try:
            wait_until(lambda: proc.poll() is not None or b": connected to " in log.read_bytes(), 30,
                       "the daemon to connect", step=0.05)
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            delay = rng.uniform(0.3, 2.0)
            time.sleep(delay)
        finally:
            proc.kill()  # SIGKILL: no cleanup, no lease release, mid-whatever
            proc.wait(timeout=20)
        lives.append((round(delay, 2), state()))
    killed = len(lives)
    print(f"\n{killed} kill -9 in {time.monotonic() - started:.1f}s; (delay, (done, sent, pending)) per life:",
          lives)
    assert killed >= 3, "too few kills to mean anything"
    assert lives[0][1][0] < BACKLOG, "the first daemon finished the backlog before it was killed"

    bot.cli("run", "--once", today=TODAY)

    assert inbox_count(rig, INTAKE) == 0
    assert inbox_count(rig, INTAKE, "Processed") == BACKLOG
    ledger = rows(url, InboundMail)
    assert sorted(r.message_id for r in ledger) == sorted(expected)  # one row per message
    assert {r.status for r in ledger} == {"done"}, [(r.message_id, r.status, r.last_error)
                                                    for r in ledger if r.status != "done"]
    out = rows(url, Outbox)
    assert sorted(r.recipients for r in out) == sorted(senders)  # one answer queued per form
    assert {r.status for r in out} == {"sent"}

    answered = replies_by_origin(rig, senders)
    assert set(answered) == set(expected), sorted(set(expected) - set(answered))[:10]  # none lost
    for mid, got in answered.items():
        assert {mailbox for mailbox, _ in got} == {expected[mid]}
    dups = explain_duplicates(answered)
    twice = {mid: d for mid, d in dups.items() if d[0] != "same Message-ID resent"}
    assert not twice, f"forms answered twice (two different answers): {twice}"
    # A kill before the final dot leaves a message the server discarded (sent again, once); a
    # kill after it leaves the row recorded as sent: no reply is delivered twice.
    assert not dups, f"replies delivered twice: {dups}"


# -- two daemons on one mailbox and database --------------------------------------------------------

def test_two_daemons_on_one_mailbox_and_database_answer_each_form_once(tmp_path, clean_mail, db_url):
    rig = clean_mail
    bot = make_env(tmp_path / "bot", rig, db_url)
    senders = [f"two{i}@corp.test" for i in range(30)]
    expected = {f"two-{i}@corp.test": s for i, s in enumerate(senders)}
    for s in senders:
        rig.add_user(s)
        rig.clear(s)
    logs = [bot.root / "daemon-a.log", bot.root / "daemon-b.log"]

    def start(log):
        with open(log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(bot.config), "--today", TODAY, "run"],
                cwd=bot.root, env=bot.env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def connected(log) -> bool:
        return log.exists() and b": connected to " in log.read_bytes()

    def tails() -> str:
        return "\n".join(log.read_text(errors="replace")[-2000:] for log in logs if log.exists())

    # The second starts once the first has migrated the new database: two started at the same
    # moment race in the migration (see test_second_daemon_starting_during_migration_comes_up).
    daemons = [start(logs[0])]
    try:
        wait_until(lambda: connected(logs[0]), 30, "the first daemon to connect")
        daemons.append(start(logs[1]))
        wait_until(lambda: connected(logs[1]), 30, "the second daemon to connect")
        assert all(d.poll() is None for d in daemons), tails()
        with rig.imap(INTAKE) as c:
            for mid, sender in expected.items():
                c.append("INBOX", form_mail(sender, mid))

        def settled() -> bool:
            ledger, out = rows(db_url, InboundMail), rows(db_url, Outbox)
            return (sum(r.status == "done" for r in ledger) >= len(expected)
                    and len(out) >= len(expected) and all(r.status == "sent" for r in out))

        wait_until(settled, 60, "all forms answered")
        wait_until(lambda: inbox_count(rig, INTAKE) == 0, 20, "the intake INBOX to be emptied")
        time.sleep(4)  # two poll rounds of both daemons: a second answer would have come by now
        assert all(d.poll() is None for d in daemons), tails()
    finally:
        for d in daemons:
            d.terminate()
        for d in daemons:
            d.wait(timeout=20)

    ledger = rows(db_url, InboundMail)
    assert sorted(r.message_id for r in ledger) == sorted(expected)
    assert {r.status for r in ledger} == {"done"}
    out = rows(db_url, Outbox)
    assert sorted(r.recipients for r in out) == sorted(senders)
    assert {r.status for r in out} == {"sent"}
    answered = replies_by_origin(rig, senders)
    assert set(answered) == set(expected)
    dups = explain_duplicates(answered)
    twice = {mid: d for mid, d in dups.items() if d[0] != "same Message-ID resent"}
    assert not twice, f"forms answered twice (two different answers): {twice}"
    resent = sum(len(got) - 1 for got in answered.values())
    assert len(rig.smtp_accepted) == len(expected) + resent
    assert not dups, f"replies delivered twice: {dups}"  # each outbox row is claimed by one sender


def test_second_daemon_starting_during_migration_comes_up(tmp_path, clean_mail, pg_url):
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from bot.store.db import MIGRATION_LOCK, MIGRATIONS

    bot = make_env(tmp_path / "bot", clean_mail, pg_url)
    engine = make_engine(pg_url)
    try:
        first = engine.connect()
        migrating = first.begin()  # the first daemon, in the middle of its migration, as migrate() does
        first.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = first
        command.upgrade(cfg, "head")
        second = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(bot.config), "--today", TODAY, "run", "--once"],
            cwd=bot.root, env=bot.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def blocked() -> bool:
                with engine.connect() as probe:  # a new transaction: a fresh activity snapshot
                    return bool(probe.execute(text(
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock'")).scalar())

            wait_until(lambda: second.poll() is not None or blocked(), 60,
                       "the second daemon to reach the migration")
            migrating.commit()
            first.close()
            _out, err = second.communicate(timeout=60)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
    finally:
        engine.dispose()
    assert second.returncode == 0, err[-2000:]
