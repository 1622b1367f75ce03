"""bot.intake.prefetch: mail parsed and forms read in worker processes give exactly what inline gives.

Real worker processes (spawned), real golden mails; nothing is mocked."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.intake.prefetch import MIN_BATCH, Analyser, analyse
from bot.intake.read import read_intake
from bot.rules.loader import load_rules

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("bot.rb.test",)
MAILS = sorted((REPO / "tests" / "data" / "mail").glob("*.eml"))
FORMS = sorted(p for p in (REPO / "tests" / "data" / "forms").iterdir()
               if p.suffix in (".xlsx", ".docx", ".xlsm", ".docm"))


def form_mails() -> list[bytes]:
    """Every golden form, attached to a Foxmail-shaped registration mail."""
    from bot.samples import registration_mail

    return [registration_mail(sender=f"ent{i}@corp.test", to="intake@rb.test",
                              message_id=f"form-{i}@corp.test", attachments=[(p.name, p.read_bytes())])
            for i, p in enumerate(FORMS)]


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


@pytest.fixture
def analyser():
    pool = Analyser(workers=1)
    yield pool
    pool.close()


def summary(a, rules) -> tuple:
    """What the pipeline uses of an analysis, in comparable form (an intake not read ahead is read
    here, as the pipeline reads it)."""
    intake, source = a.intake or read_intake(a.msg, rules, DOMAINS)
    form = dataclasses.asdict(intake.form) if intake.form else None
    return (a.msg.message_id, a.msg.subject, a.msg.from_addr, len(a.msg.attachments), form,
            intake.loop_reason, list(intake.unreadable), source.filename if source else None)


def test_workers_read_every_golden_mail_as_inline_does(analyser, rules):
    raws = [p.read_bytes() for p in MAILS] + form_mails() + [b""]
    assert len(raws) >= MIN_BATCH
    pending = analyser.submit_all(raws, rules, DOMAINS)
    assert all(p.future is not None for p in pending)  # really sent to a worker
    got = [p.result(rules, DOMAINS) for p in pending]
    assert got[-1].msg is None and not got[-1].parse_error  # the empty mail: nothing to parse
    for raw, a in zip(raws[:-1], got[:-1]):
        assert a.intake is not None  # read ahead, in the worker
        assert summary(a, rules) == summary(analyse(raw, rules, DOMAINS), rules)
    forms = [a.intake[0].form for a in got[:-1] if a.intake[0].form]
    assert len(forms) >= len(FORMS) - 5  # this compared real form readings, not empty results


def test_parse_failure_and_intake_failure_come_back_as_data(analyser, rules):
    raws = [b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"] * MIN_BATCH
    got = [p.result(rules, DOMAINS) for p in analyser.submit_all(raws, rules, DOMAINS)]
    inline = analyse(raws[0], rules, DOMAINS)
    assert [bool(a.msg) for a in got] == [bool(inline.msg)] * MIN_BATCH
    assert [a.parse_error.splitlines()[-1:] for a in got] == [inline.parse_error.splitlines()[-1:]] * MIN_BATCH


def test_small_batches_stay_inline(analyser, rules):
    pending = analyser.submit_all([MAILS[0].read_bytes()] * (MIN_BATCH - 1), rules, DOMAINS)
    assert all(p.future is None for p in pending)
    assert analyser._pool is None  # no process started for them
    assert pending[0].result(rules, DOMAINS).msg is not None


def test_changed_rules_mean_reading_again_with_the_new_ones(analyser, rules):
    raw = next(p for p in MAILS if "foxmail_gb2312" in p.name).read_bytes()
    pending = analyser.submit_all([raw] * MIN_BATCH, rules, DOMAINS)
    sender = pending[0].result(rules, DOMAINS).msg.from_addr
    assert pending[0].result(rules, DOMAINS).intake[0].loop_reason is None
    # New rules in force meanwhile, in which the sender's address is our own mailbox.
    programme = dataclasses.replace(rules.programme, mailbox=sender)
    changed = dataclasses.replace(rules, programme=programme)
    again = pending[1].result(changed, DOMAINS)
    assert again.intake is None  # the worker's reading under the old rules is not used
    intake, _source = read_intake(again.msg, changed, DOMAINS)  # what the pipeline then does
    assert intake.loop_reason and sender in intake.loop_reason


def test_a_killed_worker_means_inline_reading_and_a_new_pool(analyser, rules):
    raws = [p.read_bytes() for p in MAILS[:MIN_BATCH]]
    first = analyser.submit_all(raws, rules, DOMAINS)
    first[0].result(rules, DOMAINS)  # the worker is up
    for pid in list(analyser._pool._processes):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    later = analyser.submit_all(raws, rules, DOMAINS)  # the broken pool is replaced
    for pending, raw in zip(first[1:] + later, raws[1:] + raws):
        assert summary(pending.result(rules, DOMAINS), rules) == summary(analyse(raw, rules, DOMAINS), rules)


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from bot.intake.prefetch import Analyser, MIN_BATCH
from bot.rules.loader import load_rules
from pathlib import Path
rules = load_rules(Path({str(REPO / 'rules')!r}))
pool = Analyser(1)
raw = Path({str(MAILS[0])!r}).read_bytes()
pending = pool.submit_all([raw] * MIN_BATCH, rules, ("x",))
pending[0].result(rules, ("x",))
print(*pool._pool._processes, flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers
        parent.kill()  # SIGKILL: no cleanup in the parent at all
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "orphaned workers still running"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_inline_reading_leaves_the_form_for_after_the_claim(rules):
    """Without a worker only the parse happens up front; the form is read by the pipeline after
    the ledger has counted the attempt (a form that kills the process is quarantined in time)."""
    raw = form_mails()[0]
    [pending] = Analyser(workers=0).submit_all([raw], rules, DOMAINS)
    a = pending.result(rules, DOMAINS)
    assert a.msg is not None and a.intake is None and a.intake_error is None
