"""bot.intake.prefetch: mail is read in real worker processes under a per-mail time and memory
limit. What a worker reads is exactly what the function reads in this process; a worker that
overruns is killed and replaced, the mail is read by its headers only, and the next mail goes on.
Nothing is mocked: the slow, greedy and dying readers below run in the spawned workers."""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from bot.errors import WorkerStartError
from bot.intake.prefetch import HEADERS, Sandbox, WorkerLimits, sendable
from bot.intake.read import OVERRUN_NOTE
from bot.intake.reading import analyse
from bot.rules.loader import load_rules
from bot.samples import FormValues, form_xlsx, registration_mail
from tests.support.poison import (
    analyse_dying_on,
    analyse_greedily_on,
    analyse_pausing_on,
    analyse_slowly_on,
)
from tests.support.slow_start import START_SECONDS, analyse_after_start, worker_start

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("bot.rb.test",)
MAILS = sorted((REPO / "tests" / "data" / "mail").glob("*.eml"))
FORMS = sorted(p for p in (REPO / "tests" / "data" / "forms").iterdir()
               if p.suffix in (".xlsx", ".docx", ".xlsm", ".docm"))


def form_mails() -> list[bytes]:
    """Every golden form, attached to a Foxmail-shaped registration mail."""
    return [registration_mail(sender=f"ent{i}@corp.test", to="intake@rb.test",
                              message_id=f"form-{i}@corp.test", attachments=[(p.name, p.read_bytes())])
            for i, p in enumerate(FORMS)]


def marked(marker: str) -> bytes:
    return registration_mail(sender="ent1@corp.test", to="intake@rb.test", subject=marker,
                             message_id=f"{marker}@corp.test",
                             attachments=[("登记表.xlsx", form_xlsx(FormValues()))])


@pytest.fixture(scope="module")
def rules():
    return load_rules(REPO / "rules")


@pytest.fixture
def sandbox(request):
    boxes = []

    def make(workers=1, seconds=20.0, memory_mb=512, task=None):
        box = Sandbox(workers, WorkerLimits(seconds, memory_mb), task)
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.close()


def summary(a) -> tuple:
    intake, source = a.intake
    form = dataclasses.asdict(intake.form) if intake.form else None
    return (a.msg.message_id, a.msg.subject, a.msg.from_addr, len(a.msg.attachments), form,
            intake.loop_reason, list(intake.unreadable), source.filename if source else None)


def test_workers_read_every_golden_mail_as_the_function_does(sandbox, rules):
    raws = [p.read_bytes() for p in MAILS] + form_mails() + [b""]
    got = [job.result() for job in sandbox(workers=2).submit_all(raws, rules, DOMAINS)]
    assert got[-1].msg is None and not got[-1].parse_error  # the empty mail: nothing to parse
    for raw, a in zip(raws[:-1], got[:-1]):
        assert summary(a) == summary(analyse(raw, rules, DOMAINS))
        assert a.msg.raw == raw  # left behind by the worker, put back by the parent
        assert a.seconds > 0 and a.peak_rss > 0  # measured by the parent, per mail
    forms = [a.intake[0].form for a in got[:-1] if a.intake[0].form]
    assert len(forms) >= len(FORMS) - 5  # this compared real form readings, not empty results


def test_a_worker_sends_back_what_it_read_without_the_mail_itself(rules):
    raw = form_mails()[0]
    result = analyse(raw, rules, DOMAINS)
    whole = len(pickle.dumps(result))
    travelling = pickle.loads(pickle.dumps(sendable(result, raw)))
    assert travelling.msg.raw == b"" and len(pickle.dumps(travelling)) < whole - len(raw) // 2
    assert summary(travelling) == summary(analyse(raw, rules, DOMAINS))  # all it read goes back


def test_changed_rules_mean_reading_again_with_the_new_ones(sandbox, rules):
    raw = next(p for p in MAILS if "foxmail_gb2312" in p.name).read_bytes()
    jobs = sandbox().submit_all([raw, raw], rules, DOMAINS)
    sender = jobs[0].result(rules).msg.from_addr
    assert jobs[0].result(rules).intake[0].loop_reason is None
    # New rules in force meanwhile, in which the sender's address is our own mailbox.
    changed = dataclasses.replace(rules, programme=dataclasses.replace(rules.programme, mailbox=sender))
    again = jobs[1].result(changed)
    assert again.intake[0].loop_reason and sender in again.intake[0].loop_reason


def test_a_mail_over_the_time_limit_is_read_by_its_headers_and_the_next_goes_on(sandbox, rules):
    box = sandbox(seconds=2.0, task=partial(analyse_slowly_on, b"SLOW"))
    slow, after = box.submit_all([marked("SLOW"), marked("AFTER")], rules, DOMAINS)
    started = time.monotonic()
    got = slow.result()
    assert time.monotonic() - started < 30  # killed at 2 s, not left to sleep its 60 s
    assert "time limit" in got.overrun and slow.mode == HEADERS
    assert got.msg.subject == "SLOW" and got.msg.attachments == []  # the headers only
    intake, _source = got.intake
    assert intake.form is None and intake.unreadable == [OVERRUN_NOTE]  # answered FORM-UNREADABLE
    assert after.result().intake[0].form is not None  # the next mail is read in full


def test_a_workers_start_up_does_not_count_against_its_first_mail(sandbox, rules, monkeypatch):
    monkeypatch.setenv("RB_TEST_WORKER_START", worker_start("slow"))  # each worker takes START_SECONDS to import
    box = sandbox(seconds=START_SECONDS / 2, task=analyse_after_start)
    got = box.submit(marked("FIRST"), rules, DOMAINS).result()
    assert got.overrun == "" and got.intake[0].form is not None  # read in full, not cut at the limit
    assert got.seconds < START_SECONDS  # timed from the worker's readiness, not from its spawn


def test_workers_that_cannot_start_stop_intake_without_charging_a_mail(sandbox, rules, monkeypatch):
    monkeypatch.setenv("RB_TEST_WORKER_START", worker_start("fail"))  # the worker exits while importing
    job = sandbox(task=analyse_after_start).submit(marked("ANY"), rules, DOMAINS)
    with pytest.raises(WorkerStartError, match="failed to start"):
        job.result()
    assert job.analysis is None and job.deaths == 0  # no verdict on the mail: it waits for a fix


def test_a_mail_over_the_memory_limit_is_stopped_before_it_hurts(sandbox, rules):
    box = sandbox(memory_mb=200, task=partial(analyse_greedily_on, b"GREEDY"))
    greedy, after = box.submit_all([marked("GREEDY"), marked("AFTER")], rules, DOMAINS)
    got = greedy.result()
    assert "memory" in got.overrun
    assert got.peak_rss < 200 * 2**20 + 400 * 2**20  # caught within a poll or two of the limit
    assert got.msg.subject == "GREEDY" and got.intake[0].unreadable == [OVERRUN_NOTE]
    assert after.result().intake[0].form is not None


def test_a_worker_that_dies_is_replaced_and_its_mail_read_again_once(sandbox, rules):
    box = sandbox(task=partial(analyse_dying_on, b"DIES"))
    dies, after = box.submit_all([marked("DIES"), marked("AFTER")], rules, DOMAINS)
    got = dies.result()
    assert dies.deaths == 2 and "died" in got.overrun  # tried twice, then read by its headers
    assert got.msg.subject == "DIES"
    assert after.result().intake[0].form is not None


def test_a_worker_reads_on_while_nobody_polls(sandbox, rules):
    """The main thread gives work only when it polls; a worker holds several mails, so it goes on
    reading while the main thread is busy recording (with one mail at a time, only the mail
    answered before the poll would be ready, and the next one just handed over)."""
    box = sandbox()
    jobs = box.submit_all([marked(f"M{i}") for i in range(4)], rules, DOMAINS)
    jobs[0].result()
    time.sleep(3.0)  # no poll: the main thread records a mail
    assert [job.ready(rules) for job in jobs[1:]] == [True, True, True]
    assert [job.result().msg.subject for job in jobs] == ["M0", "M1", "M2", "M3"]


def test_each_held_mail_is_timed_from_its_own_start(sandbox, rules):
    """Three mails of 1.2 s each, held by one worker under a 2 s limit: read one after the other
    they take 3.6 s, but none of them overran."""
    box = sandbox(seconds=2.0, task=partial(analyse_pausing_on, b"PAUSE", 1.2))
    jobs = box.submit_all([marked(f"PAUSE{i}") for i in range(3)], rules, DOMAINS)
    got = [job.result() for job in jobs]
    assert [a.overrun for a in got] == ["", "", ""]
    assert all(1.1 < a.seconds < 2.0 for a in got)  # each its own 1.2 s, not the wait before it
    assert all(a.intake[0].form is not None for a in got)


def test_mails_held_behind_a_killing_mail_are_not_charged_for_it(sandbox, rules):
    """The worker dies twice on one mail while holding the next ones: only that mail is taken as
    the cause; the others are read in full by the next worker, and their turns are not used up."""
    box = sandbox(task=partial(analyse_dying_on, b"DIES"))
    jobs = box.submit_all([marked("BEFORE"), marked("DIES"), marked("AFTER1"), marked("AFTER2")],
                          rules, DOMAINS)
    got = [job.result() for job in jobs]
    assert [job.deaths for job in jobs] == [0, 2, 0, 0]
    assert "died" in got[1].overrun and got[1].msg.subject == "DIES"
    assert [a.msg.subject for a in got] == ["BEFORE", "DIES", "AFTER1", "AFTER2"]
    assert all(a.intake[0].form is not None for a in (got[0], got[2], got[3]))
    assert not any(a.overrun for a in (got[0], got[2], got[3]))


def test_mails_held_behind_a_slow_mail_are_read_after_it_is_stopped(sandbox, rules):
    box = sandbox(seconds=2.0, task=partial(analyse_slowly_on, b"SLOW"))
    jobs = box.submit_all([marked("SLOW"), marked("NEXT1"), marked("NEXT2")], rules, DOMAINS)
    got = [job.result() for job in jobs]
    assert "time limit" in got[0].overrun
    assert [a.overrun for a in got[1:]] == ["", ""]
    assert all(a.intake[0].form is not None and a.seconds < 2.0 for a in got[1:])


def test_a_bug_in_a_reader_is_the_mails_error_not_the_workers(sandbox, rules):
    from tests.support.poison import analyse_failing_on

    box = sandbox(task=partial(analyse_failing_on, b"BUG"))
    bug, after = box.submit_all([marked("BUG"), marked("AFTER")], rules, DOMAINS)
    assert "parser exploded" in bug.result().parse_error
    pid = box._pool[0].process.pid
    assert after.result().intake[0].form is not None
    assert box._pool[0].process.pid == pid  # the same worker went on


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from bot.intake.prefetch import Sandbox
from bot.rules.loader import load_rules
from pathlib import Path
rules = load_rules(Path({str(REPO / 'rules')!r}))
box = Sandbox(2)
raw = Path({str(MAILS[0])!r}).read_bytes()
for job in box.submit_all([raw] * 4, rules, ("x",)):
    job.result()
print(*(w.process.pid for w in box._pool), flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
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
