"""bot.intake.ahead: the early reader reads the first mails of the real Dovecot inbox of tests/rig
while the command line imports, and the sandbox gets what it would have read itself, or nothing.
Real spawned readers, a real IMAP server; nothing is mocked."""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import pickle
import re
import signal
import subprocess
import sys
import time

import pytest

from bot.intake.ahead import ReadAhead
from bot.intake import early as early_module
from bot.intake.early import EarlyReader, head_start_of, start_early_reader
from bot.intake.prefetch import FULL, HEADERS, Analysis, Sandbox, WorkerLimits
from bot.intake.reading import analyse
from bot.rules.loader import load_rules
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.botenv import INTAKE, REPO, make_env
from tests.test_sandbox import summary

pytestmark = pytest.mark.rig

DOMAINS = ("bot.rb.test",)  # make_env's message_id_domain
LIMITS = WorkerLimits(seconds=30, memory_mb=700)


def form_mail(n: int) -> bytes:
    return registration_mail(sender=f"ent{n}@corp.test", to=INTAKE, subject=f"报名 {n}",
                             message_id=f"ahead-{n}.{time.time_ns()}@corp.test",
                             attachments=[("登记表.xlsx", form_xlsx(FormValues()))])


def own_copy() -> bytes:
    """The sent copy of one of our replies, as it comes back into the inbox."""
    return (f"From: {INTAKE}\r\nTo: ent1@corp.test\r\nX-Loop: {INTAKE}\r\nAuto-Submitted: auto-replied\r\n"
            f"Message-ID: <copy.{time.time_ns()}@bot.rb.test>\r\nSubject: copy\r\n\r\nsent\r\n").encode()


@pytest.fixture
def env(clean_mail, tmp_path, monkeypatch):
    bot = make_env(tmp_path / "bot", clean_mail, f"sqlite:///{tmp_path / 'bot.db'}")
    for name, value in bot.env().items():
        if name.startswith("RB_TEST_"):
            monkeypatch.setenv(name, value)
    return bot


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


def in_the_inbox(rig, raws: list[bytes]) -> list[bytes]:
    for raw in raws:
        rig.append(INTAKE, raw)
    return raws


def early_reader(env, **change):
    """An early reader of `run`, given the configuration's head start (with `change` made to it)."""
    early = start_early_reader(["--config", str(env.config), "run", "--once"])
    start = head_start_of(env.config, None)
    assert start is not None
    early.conn.send(dataclasses.replace(start, **change))
    return early


def read_ahead_count(early) -> int:
    assert early.conn.poll(60), "the reader said nothing about its head start"
    tag, count = early.conn.recv()
    assert tag == "read ahead"
    return count


def read_by(box: Sandbox, raws: list[bytes], rules) -> list[Analysis]:
    return [box.submit(raw, rules, DOMAINS).result() for raw in raws]


def test_mails_read_ahead_are_given_as_the_sandbox_would_read_them(env, rules):
    forms = in_the_inbox(env.rig, [form_mail(1), own_copy(), form_mail(2), form_mail(3)])
    forms = [raw for raw in forms if b"X-Loop" not in raw]
    early = early_reader(env)
    box = Sandbox(1, LIMITS, early=early)
    try:
        assert read_ahead_count(early) == 3  # the sent copy is left for the intake to file
        later = form_mail(4)  # arrives after the head start: read when it is handed over
        got = read_by(box, [*forms, later], rules)
        assert [w.process.pid for w in box._pool] == [early.process.pid]
    finally:
        box.close()
    assert [a.read_ahead for a in got] == [True, True, True, False]
    assert [summary(a) for a in got] == [summary(analyse(raw, rules, DOMAINS)) for raw in [*forms, later]]
    assert [a.msg.raw for a in got] == [*forms, later]  # the bytes are put back as for any mail


def test_other_rules_mean_the_mail_is_read_again_under_them(env, rules):
    raws = in_the_inbox(env.rig, [form_mail(1), form_mail(2)])
    early = early_reader(env)
    other = dataclasses.replace(rules, warnings=("规则已修改",))
    box = Sandbox(1, LIMITS, early=early)
    try:
        assert read_ahead_count(early) == 2
        got = read_by(box, raws, other)
    finally:
        box.close()
    assert [a.read_ahead for a in got] == [False, False]
    assert [summary(a) for a in got] == [summary(analyse(raw, other, DOMAINS)) for raw in raws]


@pytest.mark.parametrize(("change", "exitcode"), [
    ({"limits": WorkerLimits(seconds=0.002)}, -signal.SIGALRM),  # no mail is read in the millisecond it is given
    ({"limits": WorkerLimits(memory_mb=1)}, 0),  # any reader is larger than that
], ids=["time", "memory"])
def test_a_mail_over_its_limit_while_read_ahead_ends_the_reader_and_is_read_again_uncharged(
        env, rules, change, exitcode):
    (raw,) = in_the_inbox(env.rig, [form_mail(1)])
    early = early_reader(env, **change)
    early.process.join(60)
    assert early.process.exitcode == exitcode
    with pytest.raises(EOFError):  # it left without a word about its head start
        early.conn.recv()
    box = Sandbox(1, LIMITS, early=early)
    try:
        (got,) = read_by(box, [raw], rules)
        assert box._pool[0].process.pid != early.process.pid  # a new worker read it
    finally:
        box.close()
    assert not got.overrun and not got.read_ahead
    assert summary(got) == summary(analyse(raw, rules, DOMAINS))


def test_the_head_start_ends_as_soon_as_the_sandbox_has_work(env, rules):
    raws = in_the_inbox(env.rig, [form_mail(n) for n in range(20)])
    early = early_reader(env)
    box = Sandbox(1, LIMITS, early=early)
    try:
        first = box.submit(raws[0], rules, DOMAINS)  # its limit follows the head start at once
        assert read_ahead_count(early) == 0
        assert first.result().msg.subject == "报名 0"
    finally:
        box.close()


@pytest.mark.parametrize(("change", "read"), [
    ({"most_mails": 2}, 2),
    ({"most_bytes": 1000}, 0),  # the first mail alone is over the budget: it is left to the sandbox
], ids=["mails", "bytes"])
def test_the_head_start_reads_at_most_what_it_is_given(env, rules, change, read):
    in_the_inbox(env.rig, [form_mail(n) for n in range(5)])
    early = early_reader(env, **change)
    try:
        assert read_ahead_count(early) == read
    finally:
        early.stop()


def test_no_head_start_for_the_embedded_maildir_or_a_configuration_the_command_refuses(tmp_path):
    maildir = tmp_path / "config.toml"
    maildir.write_text(f'storage_dir = "{tmp_path / "storage"}"\nrules_dir = "{REPO / "rules"}"\n',
                       encoding="utf-8")
    assert head_start_of(maildir, None) is None
    broken = tmp_path / "broken.toml"
    broken.write_text("[imap\n", encoding="utf-8")
    assert head_start_of(broken, None) is None
    assert head_start_of(tmp_path / "missing.toml", None) is None


def test_run_gives_its_reader_a_head_start(env):
    in_the_inbox(env.rig, [form_mail(n) for n in range(3)])
    done = subprocess.run([sys.executable, "-m", "bot", "--config", str(env.config), "--today", "2026-12-01",
                           "run", "--once"], cwd=env.root, env=env.env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"read [0-3] mails ahead while the command started", done.stderr)
    assert "accepted=3, sent-copy=3" in done.stderr  # each answered once, its copy filed


@pytest.fixture
def collector_restored():
    """EarlyReader.head_start builds the head start without the collector and freezes what it
    made (bot.startup): in this process, that is put back for the tests that follow."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_rules_larger_than_the_pipe_do_not_hold_the_command_line(env, monkeypatch, collector_restored):
    start = dataclasses.replace(head_start_of(env.config, None), rules=b"r" * 2**20)
    monkeypatch.setattr(early_module, "head_start_of", lambda config, rules: start)
    ours, readers = multiprocessing.Pipe()
    early = EarlyReader(process=None, conn=ours)  # a reader still importing: nobody reads yet
    early.head_start(env.config, None)  # returns although 1 MB cannot be in the pipe yet
    assert early._sending.is_alive()
    assert readers.recv() == start
    early.sent()
    assert not early._sending.is_alive()


# -- what is kept, without processes -------------------------------------------------------------


def test_a_result_is_given_once_for_the_same_bytes_a_full_reading_and_the_same_domains(rules):
    ahead = ReadAhead(rules, DOMAINS)
    kept = Analysis(None, parse_error="kept")
    ahead.keep(b"mail", kept)
    assert ahead.take(b"mail", rules, DOMAINS, HEADERS) is None
    assert ahead.take(b"mail", rules, ("other.test",), FULL) is None
    assert ahead.take(b"other mail", rules, DOMAINS, FULL) is None
    given = ahead.take(b"mail", rules, DOMAINS, FULL)
    assert pickle.loads(given).parse_error == "kept" and pickle.loads(given).read_ahead
    assert ahead.take(b"mail", rules, DOMAINS, FULL) is None


def test_equal_rules_loaded_again_are_the_same_rules_and_changed_ones_drop_everything(rules):
    ahead = ReadAhead(rules, DOMAINS)
    ahead.keep(b"one", Analysis(None))
    ahead.keep(b"two", Analysis(None))
    assert ahead.take(b"one", load_rules(REPO / "rules"), DOMAINS, FULL) is not None
    assert ahead.take(b"two", dataclasses.replace(rules, warnings=("x",)), DOMAINS, FULL) is None
    assert len(ahead) == 0
