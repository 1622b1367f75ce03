"""What a mail server allows one account, and the outbox during a backlog.

It may let one account hold fewer connections at once than `smtp.connections` (Postfix's
smtpd_client_connection_count_limit, a provider's per-account cap) and greet the extra ones with
"421 too many connections": the sender threads then send on over the connections it allows. It may
take only so many messages on one connection (Exim's smtp_accept_max_per_connection) and answer
the next MAIL FROM with 421: the message goes at once over a new connection. Either way no answer
waits for a back-off and none is charged a try. And when it says "later" (a 4xx rate limit, or a
5xx that only asks for a slower pace), the sender threads pause together instead of offering it
the next mail at once, each of them, and nobody's address is taken for one that bounced. A refused connection counts as an outage only for
the last sender standing (tests/test_reliability.py keeps that one). Real servers, real SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from bot.followup.notify import server_reply
from bot.outbox.compose import Draft
from bot.outbox.queue import Sender, drain, queue
from bot.outbox.transport import SmtpSettings, SmtpTransport
from bot.store.models import Outbox, Suppression
from bot.store.states import OutboxStatus
from tests.rig.dovecot import free_ports
from tests.support.botenv import INTAKE, body_text, make_env, parse
from tests.support.reliability import form_mail, rows

pytestmark = pytest.mark.rig

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
SENDER = Sender(address="intake@rb.test", name="办公室", domain="rb.test")
TODAY = "2026-12-01"
COPY_NOTE = "confirmed by its sent copy"
ADMIN = "admin@rb.test"


def _queued(engine, count: int) -> None:
    with Session(engine) as db:
        for i in range(count):
            queue(db, Draft(purpose="reply-accepted", to=[f"ent{i + 1}@corp.test"], subject="回执",
                            body="您好"), SENDER, NOW)
        db.commit()


def _outbox(engine) -> list[Outbox]:
    with Session(engine) as db:
        return list(db.exec(select(Outbox).order_by(Outbox.id)))


def assert_sent_at_first_try(out: list[Outbox]) -> None:
    """Each sent in one try, with no error kept; a copy that came back before the sender wrote
    "sent" leaves its note (bot.outbox.confirm), which is no failure."""
    assert [(r.status, r.attempts) for r in out] == [("sent", 1)] * len(out)
    assert [r.last_error for r in out if r.last_error not in ("", COPY_NOTE)] == []


def _senders(rig, name: str, count: int) -> list[str]:
    """`count` enterprises with empty mailboxes: name0@corp.test, name1@corp.test …"""
    senders = [f"{name}{i}@corp.test" for i in range(count)]
    for sender in senders:
        rig.add_user(sender)
        rig.clear(sender)
    return senders


def _send_forms(rig, senders: list[str]) -> None:
    """One registration form from each, Message-ID <name-i@corp.test>, into the intake."""
    with rig.imap(INTAKE) as c:
        for sender in senders:
            c.append("INBOX", form_mail(sender, _form_id(sender)))


def _form_id(sender: str) -> str:
    return sender.split("@")[0] + "@corp.test"


def _assert_each_answered_once(rig, senders: list[str]) -> None:
    for sender in senders:
        [reply] = [parse(m) for m in rig.wait_for_messages(sender, 1)]
        assert reply["In-Reply-To"] == f"<{_form_id(sender)}>"


def _nobody_listens() -> SmtpTransport:
    [port] = free_ports(1)
    return SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security="plain", timeout=5))


def test_a_spare_connection_that_cannot_open_hands_its_rows_back_uncharged(engine):
    _queued(engine, 3)
    result = drain(engine, _nobody_listens(), lambda: NOW, spare=lambda: True)
    assert (result.sent, result.retried, result.failed) == (0, 0, 0)
    assert [r.recipients for r in result.untried] == ["ent1@corp.test", "ent2@corp.test", "ent3@corp.test"]
    assert "refused" in result.refused
    out = _outbox(engine)
    assert [(r.status, r.attempts, r.last_error, r.claimed_by) for r in out] == [
        (OutboxStatus.PENDING, 0, "", "")] * 3


def test_the_only_connection_refused_is_an_outage_with_its_back_off(engine):
    _queued(engine, 3)
    result = drain(engine, _nobody_listens(), lambda: NOW)  # no spare: as before
    assert (result.sent, result.retried, result.untried) == (0, 1, None)
    first, *rest = _outbox(engine)
    assert (first.status, first.attempts) == (OutboxStatus.PENDING, 1)
    assert "refused" in first.last_error and first.next_attempt_at.replace(tzinfo=None) > NOW.replace(tzinfo=None)
    assert [(r.attempts, r.last_error) for r in rest] == [(0, "")] * 2  # not tried: handed back


def test_a_server_allowing_one_connection_gets_every_answer_at_once_and_none_charged(tmp_path, clean_mail):
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)  # smtp.connections: the default, 4
    senders = _senders(rig, "cap", 24)
    _send_forms(rig, senders)
    rig.smtp_faults.limit_sessions(1)
    try:
        bot.cli("run", "--once", today=TODAY)
        fired, most = list(rig.smtp_faults.fired), rig.smtp_faults.most_sessions
    finally:
        rig.smtp_faults.clear()
    assert ("CONNECT", "421 4.7.0 Error: too many connections") in fired  # the cap was met
    assert most == 1
    out = rows(url, Outbox)
    assert len(out) == len(senders)
    # Sent by the senders during the pass: nobody's answer was put on a back-off or charged a try.
    assert_sent_at_first_try(out)
    _assert_each_answered_once(rig, senders)


def test_the_daemon_answers_a_burst_within_seconds_when_the_server_allows_one_connection(tmp_path, clean_mail):
    """The daemon keeps its connections from pass to pass: the refused ones try again in each
    pass and step back again, and no answer waits for a back-off (the first is 30 s)."""
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = _senders(rig, "burst", 16)
    rig.smtp_faults.limit_sessions(1)
    daemon = bot.start_daemon(today=TODAY)
    try:
        time.sleep(3)  # started, connected, idling
        assert daemon.poll() is None, (bot.root / "daemon.log").read_text()
        for burst in (senders[:8], senders[8:]):  # two bursts: two passes at least
            started = time.monotonic()
            _send_forms(rig, burst)
            for sender in burst:
                rig.wait_for_messages(sender, 1, timeout=25)
            assert time.monotonic() - started < 15
        fired = list(rig.smtp_faults.fired)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        rig.smtp_faults.clear()
    assert ("CONNECT", "421 4.7.0 Error: too many connections") in fired
    out = rows(url, Outbox)
    assert len(out) == len(senders)
    assert_sent_at_first_try(out)
    assert b"SMTP-CONNECTION not opened" in (bot.root / "daemon.log").read_bytes()


def test_a_server_that_takes_few_messages_per_connection_gets_every_answer_at_the_first_try(tmp_path, clean_mail):
    """Exim's smtp_accept_max_per_connection: after 3 messages MAIL FROM gets 421 and the server
    hangs up. The sender goes on over a new connection; no answer is charged a try for it."""
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = _senders(rig, "few", 24)
    _send_forms(rig, senders)
    rig.smtp_faults.limit_messages(3)
    try:
        bot.cli("run", "--once", today=TODAY)
        fired = list(rig.smtp_faults.fired)
    finally:
        rig.smtp_faults.clear()
    assert ("MAIL", "421 4.7.0 rig.test too many messages in this connection") in fired
    out = rows(url, Outbox)
    assert len(out) == len(senders)
    assert_sent_at_first_try(out)
    _assert_each_answered_once(rig, senders)


def test_a_server_that_says_later_is_not_sent_the_next_mail_by_every_thread_at_once(tmp_path, clean_mail):
    """A rate limit or a short outage ("451 try again later" at DATA): the sender threads pause
    together, 2 s and then longer while it lasts, instead of each trying the next mail 0.2 s later
    and charging it a try. Nothing is lost: when the server takes mail again, all is sent."""
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = _senders(rig, "later", 30)
    rig.smtp_faults.set(code=451, text="4.7.1 rate limited, try again later", phase="DATA")
    daemon = bot.start_daemon(today=TODAY)
    try:
        time.sleep(3)  # started, connected, idling
        assert daemon.poll() is None, (bot.root / "daemon.log").read_text()
        _send_forms(rig, senders)
        deadline = time.monotonic() + 30
        while len([r for r in rows(url, Outbox)]) < len(senders) and time.monotonic() < deadline:
            time.sleep(0.2)  # every form decided and its answer queued
        time.sleep(8)
        refused = sum(phase == "DATA" for phase, _reply in rig.smtp_faults.fired)
        charged = [r for r in rows(url, Outbox) if r.attempts and r.last_error]
        rig.smtp_faults.clear()
        # Rounds of at most four threads after 0, 2 and 6 s (one try per mail, 30 or more, before).
        assert 1 <= refused <= 16 and len(charged) <= 16, (refused, len(charged))
        assert b"SMTP-PAUSE" in (bot.root / "daemon.log").read_bytes()
        uncharged = [r.recipients for r in rows(url, Outbox) if not r.last_error]
        for sender in uncharged:  # sent as soon as the pause is over, without a back-off of their own
            rig.wait_for_messages(sender, 1, timeout=70)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        rig.smtp_faults.clear()
    assert [r.status for r in rows(url, Outbox) if r.status == "failed"] == []


def test_a_provider_that_refuses_a_fast_sender_with_550_delays_answers_and_blames_nobody(tmp_path, clean_mail):
    """Tencent answers "550 Ip frequency limited", NetEase "550 MI:SFQ …": about our pace, not
    about the enterprise's address. Nobody's address is set aside, the office is not told of a
    bounce, every answer goes once the server takes mail again."""
    rig = clean_mail
    url = f"sqlite:///{tmp_path}/bot.db"
    bot = make_env(tmp_path / "bot", rig, url)
    senders = _senders(rig, "quota", 6)
    _send_forms(rig, senders)
    # At the enterprises' RCPTs: a pipelined envelope also names our copy before the first reply
    # is in, and a refusal of that RCPT too would not be one more mail refused.
    rig.smtp_faults.set(code=550, text="Ip frequency limited", phase="RCPT", times=3, recipients=senders)
    try:
        # As cron runs it. Which pass meets the last refusal depends on the sender threads' timing:
        # a mail refused in a run's last drain waits for the next run, so a few runs may be needed.
        for _run in range(4):
            bot.cli("run", "--once", today=TODAY)
            if all(r.status == "sent" for r in rows(url, Outbox)):
                break
        fired = list(rig.smtp_faults.fired)
    finally:
        rig.smtp_faults.clear()
    assert [phase for phase, _reply in fired] == ["RCPT"] * 3
    out = rows(url, Outbox)
    assert [r.status for r in out] == ["sent"] * len(out)
    # Tried again, not failed: each refusal cost its mail one try. Which mails met the three depends
    # on the threads' timing (run --once's last drain may try a refused mail again at once).
    assert sum(r.attempts - 1 for r in out) == 3
    assert all("frequency limited" in r.last_error for r in out if r.attempts > 1)
    assert rows(url, Suppression) == []
    _assert_each_answered_once(rig, senders)
    time.sleep(0.5)
    assert rig.messages(ADMIN) == []


def test_an_answer_the_server_refuses_for_a_day_is_shown_to_the_admin_and_in_status(tmp_path, clean_mail, db_url):
    """A pace refusal that does not end (or any "later" that lasts) keeps an answer in the outbox,
    retried hourly at most. A day after it was queued the admin's daily notice lists it with the
    server's last answer, and `status` counts it; once it is sent it is no longer shown."""
    rig = clean_mail
    bot = make_env(tmp_path / "bot", rig, db_url)
    [ent] = _senders(rig, "slow", 1)
    _send_forms(rig, [ent])
    rig.smtp_faults.set(code=450, text="4.7.1 Ip frequency limited", phase="RCPT", recipients=[ent])
    try:
        bot.cli("run", "--once", today=TODAY)
        first = _outbox_status(bot, TODAY)
        assert not [m for m in rig.messages(ADMIN) if "暂未发出" in body_text(parse(m))]
        bot.cli("run", "--once", today="2026-12-03")  # two days on: the daily notice is due
        late = _outbox_status(bot, "2026-12-03")
    finally:
        rig.smtp_faults.clear()
    assert (first["pending"], first["delayed"]) == (1, 0)  # refused for now, not yet a day
    assert (late["pending"], late["delayed"]) == (1, 1)
    [notice] = _delay_notices(rig)
    line = next(line for line in notice.splitlines() if ent in line)
    assert "服务器最近答复：“450 4.7.1 Ip frequency limited”）" in line and "12月1日" in line and "已尝试" in line
    assert rig.messages(ent) == []
    bot.cli("run", "--once", today="2026-12-03")  # the server takes mail again; listed once a day
    assert len(rig.wait_for_messages(ent, 1)) == 1
    assert _outbox_status(bot, "2026-12-03")["delayed"] == 0
    assert len(_delay_notices(rig)) == 1


def _delay_notices(rig) -> list[str]:
    bodies = [body_text(parse(m)) for m in rig.messages(ADMIN)]
    return [body for body in bodies if "超过一天仍未发出" in body]


def _outbox_status(bot, today: str) -> dict:
    return json.loads(bot.cli("status", "--json", today=today).stdout)["outbox"]


@pytest.mark.parametrize("error, shown", [
    ("RCPT TO refused for all recipients: ent@corp.test: 450 4.7.1 Ip frequency limited",
     "450 4.7.1 Ip frequency limited"),
    ("DATA refused: 550 MI:SFQ 发信频率过快，请稍后再试", "550 MI:SFQ 发信频率过快，请稍后再试"),
    ("connect to 127.0.0.1:465 refused: 421 4.7.0 too many connections", "421 4.7.0 too many connections"),
    ("sending to 127.0.0.1:465 failed: [Errno 111] Connection refused",
     "sending to 127.0.0.1:465 failed: [Errno 111] Connection refused"),
    ("DATA refused: 451 " + "x" * 200 + "\n  ”", "451 " + "x" * 76),
])
def test_the_notice_quotes_the_servers_own_words(error, shown):
    assert server_reply(error) == shown
