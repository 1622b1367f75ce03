"""A mail that kills the process is quarantined when it is claimed after `max_attempts` tries,
however the tries died (quality.md: "A crash counts"), and the mail behind it is answered.

The daemon is a real `run --once` process on the real servers; on the poison mail its main
process exits at once with no cleanup, as under kill -9 (tests/support/dying_daemon.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bot.store.models import InboundMail
from tests.support.botenv import INTAKE, body_text, make_env, parse
from tests.support.reliability import form_mail, rows

pytestmark = pytest.mark.rig

POISON, NEXT = "ent1@corp.test", "ent2@corp.test"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_mail_that_kills_the_process_is_quarantined_after_max_attempts_kills(tmp_path, clean_mail):
    url = f"sqlite:///{tmp_path}/bot.db"
    env = make_env(tmp_path / "bot", clean_mail, url, extra="max_attempts = 3")
    clean_mail.append(INTAKE, form_mail(POISON, "poison@corp.test"))
    clean_mail.append(INTAKE, form_mail(NEXT, "behind-the-poison@corp.test"))
    exits = run_until_it_lives(env, POISON)
    assert exits == [137, 137, 137, 0]  # three deaths, then set aside when claimed the fourth time
    [poison] = [r for r in rows(url, InboundMail) if r.message_id == "poison@corp.test"]
    assert (poison.status, poison.attempts) == ("quarantined", 3)
    assert "did not finish" in poison.last_error
    assert len(clean_mail.messages(INTAKE, "Quarantine")) == 1
    reply = parse(clean_mail.wait_for_messages(NEXT, 1)[0])  # the loop went on
    assert reply["In-Reply-To"] == "<behind-the-poison@corp.test>"
    assert clean_mail.messages(POISON) == []
    digest = [parse(m) for m in clean_mail.messages("admin@rb.test")]
    assert any("已隔离" in body_text(m) for m in digest)  # the admin is told


def test_a_kill_in_the_middle_of_a_chunk_quarantines_only_the_poison(tmp_path, clean_mail):
    """Ten forms in one batch (a commit claims a chunk of them, one records it), the sixth kills the
    process. Each death is counted against the poison alone (the in-hand file names it), the
    chunk's unfinished rows are then taken one at a time, and after `max_attempts` deaths only the
    poison is set aside: the nine beside it are answered once each, with one try on record."""
    url = f"sqlite:///{tmp_path}/bot.db"
    env = make_env(tmp_path / "bot", clean_mail, url, extra="max_attempts = 3\ncommit_batch = 20")
    senders = [f"chunk{i}@corp.test" for i in range(10)]
    poison = senders[5]
    for sender in senders:
        clean_mail.add_user(sender)
        clean_mail.clear(sender)
    with clean_mail.imap(INTAKE) as client:  # one batch, in this order
        for i, sender in enumerate(senders):
            client.append("INBOX", form_mail(sender, f"chunk-{i}@corp.test"))
    exits = run_until_it_lives(env, poison)
    assert exits == [137, 137, 137, 0]  # the first death is counted although no commit named it
    ledger = {r.message_id: r for r in rows(url, InboundMail)}
    assert sorted(ledger) == sorted(f"chunk-{i}@corp.test" for i in range(10))
    assert (ledger["chunk-5@corp.test"].status, ledger["chunk-5@corp.test"].attempts) == ("quarantined", 3)
    others = [ledger[f"chunk-{i}@corp.test"] for i in range(10) if i != 5]
    assert [(r.status, r.attempts) for r in others] == [("done", 1)] * 9  # no death counted on them
    assert len(clean_mail.messages(INTAKE, "Quarantine")) == 1
    assert clean_mail.messages(INTAKE) == []
    for i, sender in enumerate(senders):
        if sender == poison:
            assert clean_mail.messages(sender) == []
            continue
        [reply] = [parse(m) for m in clean_mail.wait_for_messages(sender, 1)]
        assert reply["In-Reply-To"] == f"<chunk-{i}@corp.test>"
    time.sleep(1.0)  # a second reply, had one been sent, would be in by now
    assert all(len(clean_mail.messages(s)) == (s != poison) for s in senders)  # once each


def run_until_it_lives(env, poison: str) -> list[int]:
    """`run --once` of a daemon that dies (SIGKILL) reading a mail from `poison`, again and again
    until a run finishes (at most six): the exit codes, in order."""
    environ = env.env() | {"RB_TEST_DIE_ON": poison, "PYTHONPATH": REPO}
    command = [sys.executable, os.path.join(REPO, "tests", "support", "dying_daemon.py"),
               "--config", str(env.config), "--today", "2026-12-01", "run", "--once"]
    exits = []
    for _run in range(6):
        done = subprocess.run(command, cwd=env.root, env=environ, capture_output=True, text=True,
                              timeout=120)
        exits.append(done.returncode)
        if done.returncode == 0:
            break
    return exits
