"""Reliability on the real servers: nothing lost, nothing answered twice (quality.md, "Reliability").

Every test asserts on the real mailboxes (Dovecot, reached by IMAP) and on the database. The
kill -9 backlog and the two-daemons tests live in tests/test_reliability_kill.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from bot.intake.prefetch import Sandbox
from bot.store.models import InboundMail, Outbox, Suppression
from tests.support.botenv import INTAKE, REPO, body_text, make_env, parse
from tests.support.poison import failing_sandbox
from tests.support.reliability import form_mail, rows, wait_until

pytestmark = pytest.mark.rig

TODAY = "2026-12-01"
ADMIN = "admin@rb.test"


# -- helpers ---------------------------------------------------------------------------------------


def replies(rig, address: str) -> list:
    return [parse(raw) for raw in rig.messages(address)]


def wait_connected(bot, daemon, count: int = 1, timeout: float = 20.0) -> None:
    """Until the daemon log shows `count` IMAP connections (the daemon is up and fetching)."""
    log = bot.root / "daemon.log"

    def connected():
        assert daemon.poll() is None, log.read_text(errors="replace")[-3000:]
        return log.exists() and log.read_text(errors="replace").count(": connected to ") >= count

    wait_until(connected, timeout, f"{count} IMAP connection(s) of the daemon", step=0.1)


def stop(daemon) -> None:
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=20)
        except Exception:  # noqa: BLE001
            daemon.kill()
            daemon.wait(timeout=20)


def assert_one_reply(rig, address: str, in_reply_to: str):
    got = replies(rig, address)
    assert len(got) == 1, (address, [(m["Message-ID"], m["In-Reply-To"], m["Subject"]) for m in got])
    assert got[0]["In-Reply-To"] == f"<{in_reply_to}>"
    return got[0]


# -- SMTP down, then back ---------------------------------------------------------------------------

def test_smtp_down_then_back_delivers_each_reply_exactly_once(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = {"ent1@corp.test": "down-1@corp.test", "ent3@corp.test": "down-3@corp.test",
               "ent4@corp.test": "down-4@corp.test"}
    for sender, mid in senders.items():
        rig.append(INTAKE, form_mail(sender, mid))

    from tests.rig.dovecot import free_ports

    good_config = bot.config.read_text(encoding="utf-8")
    smtp_line = f"port = {rig.smtp_port}\n"
    assert good_config.count(smtp_line) == 1
    outages = [
        None,  # nothing listens: connection refused
        dict(code=None, phase="CONNECT"),  # connection dropped before the greeting
        dict(code=421, text="4.3.2 service not available, closing channel", phase="CONNECT"),
        dict(code=451, text="4.3.0 try again later", phase="DATA"),
    ]
    tried = [0, 0, 0]
    for fault in outages:
        rig.smtp_faults.clear()  # also forgets what fired before
        if fault is None:
            [dead] = free_ports(1)
            bot.config.write_text(good_config.replace(smtp_line, f"port = {dead}\n"), encoding="utf-8")
        else:
            rig.smtp_faults.set(**fault)
        bot.cli("run", "--once", today=TODAY)
        bot.config.write_text(good_config, encoding="utf-8")
        if fault is None:
            assert "refused" in rows(url, Outbox)[0].last_error
        else:
            assert rig.smtp_faults.fired, f"fault {fault} never fired"
            assert {phase for phase, _ in rig.smtp_faults.fired} == {fault["phase"]}
        out = rows(url, Outbox)
        assert len(out) == 3 and all(r.status == "pending" for r in out), [(r.status, r.last_error) for r in out]
        # Every run tries every mail again (the background sender may already have tried one
        # during the pass, so a run can count two tries for it).
        assert all(r.attempts > t and r.last_error for r, t in zip(out, tried)), [
            (r.attempts, r.last_error) for r in out]
        tried = [r.attempts for r in out]
        assert len(rig.smtp_accepted) == 0
    assert all("451" in r.last_error for r in rows(url, Outbox))
    time.sleep(1)
    for sender in senders:
        assert rig.messages(sender) == []
    assert len(rig.messages(INTAKE, "Processed")) == 3  # decided and recorded; only the mail waited
    assert [r.status for r in rows(url, InboundMail)] == ["done"] * 3

    rig.smtp_faults.clear()
    bot.cli("run", "--once", today=TODAY)
    for sender, mid in senders.items():
        rig.wait_for_messages(sender, 1)
    assert all(r.status == "sent" and r.sent_at for r in rows(url, Outbox))
    assert len(rig.smtp_accepted) == 3

    bot.cli("run", "--once", today=TODAY)  # nothing left to send: sends nothing
    time.sleep(1)
    assert len(rig.smtp_accepted) == 3
    for sender, mid in senders.items():
        assert_one_reply(rig, sender, mid)
    assert rig.messages(ADMIN) == []  # temporary failures are not reported as bounces


# -- SMTP 550 for one recipient --------------------------------------------------------------------

def test_permanent_refusal_fails_that_mail_tells_the_admin_and_delivers_the_rest(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = {"ent1@corp.test": "perm-1@corp.test", "ent2@corp.test": "perm-2@corp.test",
               "ent3@corp.test": "perm-3@corp.test"}
    for sender, mid in senders.items():
        rig.append(INTAKE, form_mail(sender, mid))
    rig.smtp_faults.set(code=550, text="5.1.1 no such user", phase="RCPT",
                        recipients={"ent2@corp.test"})

    bot.cli("run", "--once", today=TODAY)

    assert_one_reply(rig, "ent1@corp.test", "perm-1@corp.test")
    assert_one_reply(rig, "ent3@corp.test", "perm-3@corp.test")
    out = {r.recipients: r for r in rows(url, Outbox)}
    failed = out["ent2@corp.test"]
    assert failed.status == "failed" and failed.sent_at is None
    assert "550" in failed.last_error and "5.1.1 no such user" in failed.last_error
    assert out["ent1@corp.test"].status == out["ent3@corp.test"].status == "sent"
    assert [s.address for s in rows(url, Suppression)] == ["ent2@corp.test"]

    # The admin is told in the same run, by SMTP like any mail (the fault is scoped to ent2 only).
    admin = parse(rig.wait_for_messages(ADMIN, 1, timeout=10)[0])
    assert "ent2@corp.test" in admin["Subject"]
    assert admin["Auto-Submitted"] == "auto-generated"
    text = body_text(admin)
    assert "550" in text and "5.1.1 no such user" in text and failed.subject in text

    bot.cli("run", "--once", today=TODAY)  # nothing retried, nothing resent
    time.sleep(1)
    assert rig.messages("ent2@corp.test") == []
    assert len(replies(rig, "ent1@corp.test")) == len(replies(rig, "ent3@corp.test")) == 1
    assert len(replies(rig, ADMIN)) == 1
    assert {r.recipients: r.status for r in rows(url, Outbox)} == {
        "ent1@corp.test": "sent", "ent2@corp.test": "failed", "ent3@corp.test": "sent", ADMIN: "sent"}
    assert [ph for ph, _ in rig.smtp_faults.fired] == ["RCPT"]  # ent2 was tried once, not again


# -- a message that crashes the parser --------------------------------------------------------------

def _in_process(tmp_path, rig, monkeypatch, extra: str = ""):
    """The runtime built in this process (so a fault can be injected), on the rig, SQLite."""
    from bot.cli import Options
    from bot.service.jobs import Jobs
    from bot.service.runtime import open_runtime, open_source

    url = f"sqlite:///{tmp_path}/bot.db"
    env = make_env(tmp_path / "bot", rig, url, extra=extra)
    monkeypatch.setenv("RB_TEST_IMAP_PASSWORD", rig.password)
    monkeypatch.setenv("RB_TEST_SMTP_PASSWORD", rig.smtp_password)
    monkeypatch.delenv("RECEPTION_BOT_DATABASE_URL", raising=False)
    umask = os.umask(0o022)
    os.umask(umask)  # open_runtime tightens the umask of the whole process: put it back afterwards
    opts = Options(config=env.config, rules=None, today=date.fromisoformat(TODAY))
    rt = open_runtime(opts)
    try:
        yield dict(rt=rt, source=open_source(rt), jobs=Jobs(rt), opts=opts, url=url, rig=rig)
    finally:
        rt.transport.close()
        rt.close()
        rt.engine.dispose()
        os.umask(umask)


@pytest.fixture
def in_process(tmp_path, clean_mail, monkeypatch):
    yield from _in_process(tmp_path, clean_mail, monkeypatch)


def _reader(rt, sandbox) -> None:
    """Swap the runtime's mail readers (the workers are real processes: a patch in this process
    would not reach them)."""
    rt.analyser.close()
    rt.analyser = sandbox


def test_a_mail_that_crashes_the_parser_is_quarantined_and_reprocess_brings_it_back(
        in_process, monkeypatch):
    from bot.intake.quarantine import reprocess
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = in_process["rt"], in_process["jobs"], in_process["url"], in_process["rig"]
    _reader(rt, failing_sandbox(b"poison-1@corp.test"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "poison-1@corp.test"))

    runs = 0
    while not rig.messages(INTAKE, "Quarantine"):
        runs += 1
        assert runs <= rt.config.max_attempts, "not quarantined after max_attempts runs"
        run_once(rt, open_source(rt), jobs)
    [poison] = rows(url, InboundMail)
    assert poison.status == "quarantined"
    assert poison.attempts == rt.config.max_attempts
    assert poison.last_error  # the reason is on record
    assert "parse" in poison.last_error
    assert rig.messages(INTAKE) == []
    assert rig.messages(INTAKE, "Processed") == []

    # The loop goes on: later mail is answered while the poison stays aside.
    rig.append(INTAKE, form_mail("ent3@corp.test", "after-poison@corp.test"))
    run_once(rt, open_source(rt), jobs)
    assert_one_reply(rig, "ent3@corp.test", "after-poison@corp.test")
    assert len(rig.messages(INTAKE, "Quarantine")) == 1
    assert rig.messages("ent1@corp.test") == []

    # Fixed (the patch removed): `reprocess` puts it back, the next run answers it once.
    _reader(rt, Sandbox(1))
    assert reprocess(rt, open_source(rt)) == 1
    assert rig.messages(INTAKE, "Quarantine") == []
    assert len(rig.messages(INTAKE)) == 1
    run_once(rt, open_source(rt), jobs)
    run_once(rt, open_source(rt), jobs)
    time.sleep(1)
    assert_one_reply(rig, "ent1@corp.test", "poison-1@corp.test")
    assert_one_reply(rig, "ent3@corp.test", "after-poison@corp.test")
    assert rig.messages(INTAKE) == [] and rig.messages(INTAKE, "Quarantine") == []
    done = [r for r in rows(url, InboundMail) if r.status == "done"]
    assert sorted(r.message_id for r in done) == ["after-poison@corp.test", "poison-1@corp.test"]
    # (the row the quarantine left behind: see the next test)


@pytest.fixture
def in_process_2(tmp_path, clean_mail, monkeypatch):
    yield from _in_process(tmp_path, clean_mail, monkeypatch, extra="max_attempts = 2")


def test_reprocessed_mail_is_answered_once_and_its_old_row_closed(in_process_2, monkeypatch):
    from bot.intake.quarantine import reprocess
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process_2[k] for k in ("rt", "jobs", "url", "rig"))
    _reader(rt, failing_sandbox(b"poison-2@corp.test"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "poison-2@corp.test"))
    run_once(rt, open_source(rt), jobs)
    assert [r.status for r in rows(url, InboundMail)] == ["quarantined"]
    _reader(rt, Sandbox(1))
    assert reprocess(rt, open_source(rt)) == 1
    run_once(rt, open_source(rt), jobs)
    assert_one_reply(rig, "ent1@corp.test", "poison-2@corp.test")
    ledger = rows(url, InboundMail)
    # The first row was keyed by the raw digest (the mail did not parse then): it stays, closed,
    # so the record of what happened is kept and nothing is left waiting.
    assert [(r.message_id.endswith("@archive.invalid"), r.status) for r in ledger] == \
        [(True, "reprocessed"), (False, "done")], \
        [(r.message_id, r.status, r.attempts, r.last_error) for r in ledger]
    assert ledger[1].message_id == "poison-2@corp.test"


def test_a_mail_that_raises_in_a_chunk_is_set_aside_and_the_rest_of_the_chunk_answered(in_process):
    """Three new mails in one chunk, the middle one raises: the chunk's transaction is rolled back,
    that mail is recorded as an error (its try counted), the other two are handled again and
    committed, each with one try. The failing one is retried alone until it is quarantined."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process[k] for k in ("rt", "jobs", "url", "rig"))
    _reader(rt, failing_sandbox(b"chunk-poison@corp.test"))
    for sender, mid in (("ent1@corp.test", "chunk-a@corp.test"), ("ent3@corp.test", "chunk-poison@corp.test"),
                        ("ent4@corp.test", "chunk-b@corp.test")):
        rig.append(INTAKE, form_mail(sender, mid))
    run_once(rt, open_source(rt), jobs)
    ledger = {r.message_id.split("@")[0] if "chunk" in r.message_id else "poison": r
              for r in rows(url, InboundMail)}
    assert [(ledger[k].status, ledger[k].attempts) for k in ("chunk-a", "chunk-b")] == [("done", 1)] * 2
    assert (ledger["poison"].status, ledger["poison"].attempts) == ("quarantined", rt.config.max_attempts)
    assert "parse" in ledger["poison"].last_error
    assert_one_reply(rig, "ent1@corp.test", "chunk-a@corp.test")
    assert_one_reply(rig, "ent4@corp.test", "chunk-b@corp.test")
    assert rig.messages("ent3@corp.test") == []
    assert len(rig.messages(INTAKE, "Quarantine")) == 1 and rig.messages(INTAKE) == []


# -- IMAP dropped, Dovecot restarted, UIDVALIDITY changed -------------------------------------------

def _recreate_inbox(rig, address: str) -> None:
    """The mailbox recreated (as after a restore): Dovecot forgets its UIDs, so INBOX gets a new
    UIDVALIDITY and numbers from 1 again. IMAP cannot DELETE the INBOX, hence the index files."""
    rig.stop_dovecot()
    maildir = rig.dovecot.home(address) / "Maildir"
    for path in [maildir / "dovecot-uidlist", *maildir.glob("dovecot.index*")]:
        path.unlink(missing_ok=True)
    rig.start_dovecot()


def _uidvalidity(rig, address: str) -> int:
    with rig.imap(address) as c:
        return int(c.folder_status("INBOX", [b"UIDVALIDITY"])[b"UIDVALIDITY"])


def _answered(rig, addresses) -> dict[str, list[str]]:
    """In-Reply-To of every reply in the addresses' mailboxes -> the replies' Message-IDs."""
    out: dict[str, list[str]] = {}
    for address in addresses:
        for msg in replies(rig, address):
            out.setdefault(str(msg["In-Reply-To"]).strip("<>"), []).append(str(msg["Message-ID"]))
    return out


def _outbox_drained(url: str) -> bool:
    return all(r.status == "sent" for r in rows(url, Outbox))


def _done_count(url: str) -> int:
    return sum(r.status == "done" for r in rows(url, InboundMail))


def test_imap_outages_and_a_new_uidvalidity_lose_nothing_and_answer_nothing_twice(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    # The burst must outlast the first chunk's commit (commit_batch mails) for the drop to fall
    # inside it; its 120 mails come from five senders, so the per-sender cap is raised to match.
    bot = make_env(tmp_path / "bot", rig, url, extra="rate_limit_per_recipient = 40")
    ents = [f"ent{n}@corp.test" for n in range(1, 6)]
    expected: list[str] = []

    def send(sender: str, mid: str) -> bytes:
        raw = form_mail(sender, mid)
        rig.append(INTAKE, raw)
        expected.append(mid)
        return raw

    _recreate_inbox(rig, INTAKE)  # UIDs from 1, whatever earlier tests appended
    first = send("ent1@corp.test", "imap-1@corp.test")
    daemon = bot.start_daemon(today=TODAY)
    log = bot.root / "daemon.log"
    try:
        wait_connected(bot, daemon)
        rig.wait_for_messages("ent1@corp.test", 1, timeout=20)

        # Dovecot restarted under the idling daemon: it reconnects and answers what arrives next.
        rig.restart_dovecot()
        send("ent2@corp.test", "imap-2@corp.test")
        rig.wait_for_messages("ent2@corp.test", 1, timeout=30)

        # Dropped in the middle of a pass over a backlog: the moves after the drop reconnect.
        with rig.imap(INTAKE) as c:
            for i in range(120):
                raw = form_mail(ents[i % 5], f"burst-{i}@corp.test")
                c.append("INBOX", raw)
                expected.append(f"burst-{i}@corp.test")
        wait_until(lambda: _done_count(url) >= 5, 30, "the daemon to be inside the backlog", step=0.05)
        rig.restart_dovecot()
        assert _done_count(url) < len(expected), "the backlog was done before the drop"
        wait_until(lambda: _done_count(url) == len(expected), 60, "the backlog to be processed")
        # (the rig's SMTP delivers into this Dovecot: let the replies out before stopping it, or
        # they would meet a 451 and wait out the outbox backoff. A reply that was being sent at
        # the restart met one already: its first retry comes 60 s later.)
        wait_until(lambda: _outbox_drained(url), 90, "the replies to the backlog to go out")

        # Down for a while: reconnect attempts fail and back off, then succeed.
        rig.stop_dovecot()
        time.sleep(4)
        rig.start_dovecot()
        send("ent3@corp.test", "imap-3@corp.test")
        wait_until(lambda: "imap-3@corp.test" in _answered(rig, ["ent3@corp.test"]), 60,
                   "the answer after the outage")
        text = log.read_text(errors="replace")
        assert "reconnecting in" in text
        # first connect plus reconnects; a restart that falls while the daemon is deciding (no IMAP
        # command in flight) is bridged by the one reconnect of the batch's MOVE
        assert text.count(": connected to ") >= 3

        # UIDVALIDITY changes: the old UIDs mean nothing. A copy of a mail already answered (its
        # new UID is one the ledger already has under the old UIDVALIDITY) is not answered again;
        # a new mail (also with a reused UID number) is answered once.
        wait_until(lambda: _outbox_drained(url), 30, "the reply after the outage to go out")
        old_uidvalidity = _uidvalidity(rig, INTAKE)
        _recreate_inbox(rig, INTAKE)
        assert _uidvalidity(rig, INTAKE) != old_uidvalidity
        rig.append(INTAKE, first)
        send("ent5@corp.test", "imap-5@corp.test")
        wait_until(lambda: _done_count(url) == len(expected), 30, "the mail after the new UIDVALIDITY")
        wait_until(lambda: rig.messages(INTAKE) == [], 20, "the intake INBOX to be emptied")
        wait_until(lambda: _outbox_drained(url), 20, "the outbox to drain")
        time.sleep(2.5)  # a poll round more: a second answer would have come by now
        assert daemon.poll() is None, log.read_text(errors="replace")[-3000:]
    finally:
        stop(daemon)

    assert "UIDVALIDITY changed" in log.read_text(errors="replace")
    answered = _answered(rig, ents)
    twice = {mid: ids for mid, ids in answered.items() if len(ids) != 1}
    assert not twice, f"answered more than once: {twice}"
    assert sorted(answered) == sorted(expected)
    ledger = rows(url, InboundMail)
    assert sorted((r.message_id, r.status) for r in ledger) == sorted((m, "done") for m in expected)
    new = next(r for r in ledger if r.message_id == "imap-5@corp.test")
    assert new.uidvalidity != old_uidvalidity
    assert new.uid in {r.uid for r in ledger if r.uidvalidity == old_uidvalidity}  # a reused number
    assert len(rig.messages(INTAKE, "Processed")) == len(expected) + 1  # the copy too, once decided


# -- a broken rule-file edit while running ------------------------------------------------------------

def test_broken_rule_edit_keeps_old_rules_and_tells_the_admin_with_file_and_line(tmp_path, clean_mail):
    rig = clean_mail
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    sessions = rules / "sessions.toml"
    good = sessions.read_text(encoding="utf-8")
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url, rules_dir=rules)
    daemon = bot.start_daemon(today=TODAY)
    try:
        wait_connected(bot, daemon)
        broken = good.replace('leader = "vm-industry"', 'leader = "vm-nobody"', 1)
        assert broken != good
        line = next(i for i, text in enumerate(broken.splitlines(), 1) if "vm-nobody" in text)
        sessions.write_text(broken, encoding="utf-8")

        admin = parse(rig.wait_for_messages(ADMIN, 1, timeout=20)[0])
        text = body_text(admin)
        assert f"sessions.toml:{line}:" in text, text
        assert "vm-nobody" in text

        # Still the old rules: the session of 2026-12 with its leader, accepted.
        rig.append(INTAKE, form_mail("ent1@corp.test", "rules-1@corp.test"))
        old = assert_one_reply_waiting(rig, "ent1@corp.test", "rules-1@corp.test")
        assert "预约受理通知" in old["Subject"]
        assert "市行政中心A座会议室" in body_text(old) and "分管工业的副市长" in body_text(old)

        # Fixed, with a change of its own: the next form is decided under the new rules.
        sessions.write_text(good.replace('location = "市行政中心A座会议室"',
                                         'location = "市行政中心B座报告厅"', 1), encoding="utf-8")
        time.sleep(0.5)
        rig.append(INTAKE, form_mail("ent3@corp.test", "rules-3@corp.test"))
        new = assert_one_reply_waiting(rig, "ent3@corp.test", "rules-3@corp.test")
        assert "市行政中心B座报告厅" in body_text(new)
        time.sleep(2.5)
        assert daemon.poll() is None
    finally:
        stop(daemon)
    assert len(rig.messages(ADMIN)) == 1  # told once, not at every poll
    assert "RULES-RELOADED" in (bot.root / "daemon.log").read_text(errors="replace")


def assert_one_reply_waiting(rig, address: str, in_reply_to: str, timeout: float = 20.0):
    rig.wait_for_messages(address, 1, timeout=timeout)
    return assert_one_reply(rig, address, in_reply_to)


# -- a crash between SMTP acceptance and marking the mail sent ---------------------------------------

class _Crash(BaseException):
    """The process dies here (a BaseException: nothing below catches it, nothing is committed)."""


class _DyingTransport:
    """The real transport, in a process that dies at `when`:
    "before-dot"  - the whole message transmitted, "finalizing" not recorded, no dot;
    "at-dot"      - "finalizing" recorded, then dead before the dot leaves;
    "after-accept" - the server accepted the mail (250), then dead before it is marked sent."""

    def __init__(self, real, when: str):
        self.real, self.when = real, when
        self.confirm_grace = real.confirm_grace

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        def at_the_dot():
            if self.when == "at-dot":
                before_dot()
            if self.when in ("before-dot", "at-dot"):
                raise _Crash()
            before_dot()

        self.real.send(raw, mail_from, rcpt_to, before_dot=at_the_dot)
        raise _Crash()  # "after-accept"

    def close(self):
        self.real.close()


@contextmanager
def mortal_holder() -> Iterator[str]:
    """A holder id naming a process of this host that lives until the block ends, and not after.

    The dying run's holder must be alive while it runs: with a dead one from the start, another
    sender thread of the same run recovers the row still being sent (bot.outbox.queue.recover_stale:
    abandoned) and puts it back pending under the sender's feet. A real process is alive until it
    dies."""
    import socket

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield f"{socket.gethostname()}:{proc.pid}"
    finally:
        proc.kill()
        proc.wait()


def run_and_die(rt, jobs, when: str) -> None:
    """One `run --once` in a process that dies at `when` (see _DyingTransport); afterwards `rt` is
    the restarted process's: the real transport, a live holder id."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    real, live = rt.transport, rt.holder_id
    try:
        with mortal_holder() as dying:
            rt.transport, rt.holder_id = _DyingTransport(real, when), dying
            with pytest.raises(_Crash):
                run_once(rt, open_source(rt), jobs)
    finally:
        rt.transport, rt.holder_id = real, live


def test_a_crash_right_after_smtp_acceptance_does_not_deliver_the_reply_twice(in_process):
    """Killed after the final dot: the server has the mail; its sent copy in our inbox says so, and
    the restarted daemon marks the row sent instead of sending it again."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process[k] for k in ("rt", "jobs", "url", "rig"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "crash-1@corp.test"))
    run_and_die(rt, jobs, "after-accept")
    assert [r.status for r in rows(url, Outbox)] == ["finalizing"]
    run_once(rt, open_source(rt), jobs)  # restarted
    [row] = rows(url, Outbox)
    assert (row.status, row.last_error) == ("sent", "confirmed by its sent copy")
    assert_one_reply(rig, "ent1@corp.test", "crash-1@corp.test")
    [copy] = [parse(raw) for raw in rig.messages(INTAKE, "Sent")]  # filed, not answered
    assert copy["Message-ID"] == f"<{row.message_id}>"
    assert rig.messages(INTAKE) == []
    assert len(rows(url, InboundMail)) == 1  # the copy is not a new inbound mail




def test_a_crash_before_the_final_dot_sends_the_reply_once_after_restart(in_process):
    """Killed with the whole message transmitted but the dot not yet sent: the server discards
    the message, the restarted sender sends it again, and the mailbox holds it once."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process[k] for k in ("rt", "jobs", "url", "rig"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "crash-2@corp.test"))
    run_and_die(rt, jobs, "before-dot")
    time.sleep(1)
    assert rig.messages("ent1@corp.test") == []
    assert [r.status for r in rows(url, Outbox)] == ["sending"]
    run_once(rt, open_source(rt), jobs)
    assert [r.status for r in rows(url, Outbox)] == ["sent"]
    time.sleep(1)
    assert_one_reply(rig, "ent1@corp.test", "crash-2@corp.test")


def test_a_crash_between_recording_the_dot_and_sending_it_sends_the_reply_once(in_process):
    """The narrowest window: "finalizing" is committed, then the process dies before the dot
    leaves. The server discarded the mail and no sent copy ever arrives, so after the grace the
    restarted daemon sends it again, and the mailbox holds it once."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process[k] for k in ("rt", "jobs", "url", "rig"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "crash-3@corp.test"))
    run_and_die(rt, jobs, "at-dot")
    [row] = rows(url, Outbox)
    assert row.status == "finalizing"
    time.sleep(0.5)
    assert rig.messages("ent1@corp.test") == []  # no dot: the server threw it away
    run_once(rt, open_source(rt), jobs)  # waits out the grace (5 s in the rig) for a copy
    [row] = rows(url, Outbox)
    assert row.status == "sent" and row.attempts == 2, (row.status, row.attempts, row.last_error)
    assert_one_reply_waiting(rig, "ent1@corp.test", "crash-3@corp.test")
    assert len(rig.messages(INTAKE, "Sent")) == 1  # the copy of the try that went through


def test_a_connection_lost_after_the_final_dot_is_settled_by_the_sent_copy(in_process):
    """The server delivered, then the connection broke before its 250: sending again would be a
    duplicate, and not sending could be a loss. The copy that came back decides: sent, once."""
    from bot.service.daemon import run_once
    from bot.service.runtime import open_source

    rt, jobs, url, rig = (in_process[k] for k in ("rt", "jobs", "url", "rig"))
    rig.append(INTAKE, form_mail("ent1@corp.test", "drop-1@corp.test"))
    rig.smtp_faults.set(code=None, phase="AFTER-DATA", times=1)
    run_once(rt, open_source(rt), jobs)
    assert rig.smtp_faults.fired == [("AFTER-DATA", "<drop>")]
    [row] = rows(url, Outbox)
    assert (row.status, row.attempts) == ("sent", 1), (row.status, row.attempts, row.last_error)
    assert row.last_error == "confirmed by its sent copy"
    time.sleep(0.5)
    assert_one_reply(rig, "ent1@corp.test", "drop-1@corp.test")
    assert len(rig.messages(INTAKE, "Sent")) == 1 and rig.messages(INTAKE) == []


# -- two daemons draining the outbox at the same moment ----------------------------------------------

def test_two_daemons_draining_at_once_deliver_each_mail_once(in_process):
    import threading

    from bot.outbox.queue import drain
    from bot.service import lease
    from bot.service.daemon import fetch_pass
    from bot.service.runtime import open_source, open_transport

    rt, url, rig = (in_process[k] for k in ("rt", "url", "rig"))
    for n in (1, 3, 4):
        rig.append(INTAKE, form_mail(f"ent{n}@corp.test", f"drain-{n}@corp.test"))
    source = open_source(rt)
    source.open()
    try:
        fetch_pass(rt, source)
    finally:
        source.close()
        lease.release(rt.engine, source.name, rt.holder_id)
    assert [r.status for r in rows(url, Outbox)] == ["pending"] * 3

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    class SlowServer:
        """Each daemon's own SMTP connection, to a server that takes 0.3 s per mail."""

        def __init__(self):
            self.transport = open_transport(rt.config)

        def send(self, raw, mail_from, rcpt_to, before_dot=None):
            time.sleep(0.3)
            self.transport.send(raw, mail_from, rcpt_to, before_dot=before_dot)

    def daemon(name: str):
        server = SlowServer()
        try:
            start.wait(timeout=10)
            drain(rt.engine, server, rt.now, holder=name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            server.transport.close()

    threads = [threading.Thread(target=daemon, args=(f"host:{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert [r.status for r in rows(url, Outbox)] == ["sent"] * 3
    time.sleep(1)
    assert len(rig.smtp_accepted) == 3
    for n in (1, 3, 4):
        assert_one_reply(rig, f"ent{n}@corp.test", f"drain-{n}@corp.test")
