"""The intake hands its answers to the sender threads already claimed (bot.outbox.handoff), on the
embedded default: claimed in the chunk's own commit, sent once, and given back to the table
(pending, the try not counted) whenever they are not sent: a temporary failure, an aborted pass."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from sqlmodel import Session, select

from bot.errors import DeliveryError
from bot.intake import pipeline
from bot.outbox.handoff import Handoff
from bot.outbox.queue import CLAIM_BATCH, send_claimed
from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.daemon import BackgroundSender, fetch_pass
from bot.service.runtime import open_source
from bot.store.models import Outbox
from tests.support.embedded import INTAKE, REPO, Embedded
from tests.support.mail import authenticated

TODAY = "2026-12-01"
MAILS = 6


@pytest.fixture
def bot(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    for i in range(MAILS):
        bot.deliver(authenticated(registration_mail(
            sender=f"ent{i}@corp.test", to=INTAKE, message_id=f"handoff-{i}@corp.test",
            attachments=[("登记表.xlsx", form_xlsx(FormValues(enterprise_name=f"乌海市第{i}号科技有限公司")))])))
    return bot


def outbox(rt) -> list[Outbox]:
    with Session(rt.engine) as db:
        return list(db.exec(select(Outbox).order_by(Outbox.id)))


class Refusing:
    """A transport whose server is away for now (a 4xx, or no connection): every send fails."""

    def __init__(self):
        self.tries = 0

    def send(self, raw, mail_from, rcpt_to, before_dot=None):
        self.tries += 1
        raise DeliveryError("421 service not available", permanent=False)

    def close(self):
        pass


def test_a_chunk_claims_its_answers_in_its_commit_and_hands_them_over(bot):
    rt = bot.runtime(TODAY)
    try:
        handoff = Handoff(CLAIM_BATCH)
        fetch_pass(rt, open_source(rt), handoff=handoff)
        rows = outbox(rt)
        handed = handoff.leftovers()
        assert len(rows) >= MAILS  # a reply each, and the referrals
        assert sorted(r.id for r in handed) == [r.id for r in rows]
        assert {(r.status, r.claimed_by, r.attempts) for r in rows} == {("sending", rt.holder_id, 1)}
        assert bot.sent() == []  # claimed, not sent: only a sender sends

        result = send_claimed(rt.engine, rt.transport, handed, rt.now, holder=rt.holder_id)
        assert result.sent == len(rows)
        assert {r.status for r in outbox(rt)} == {"sent"}
        replies = [m["To"] for m in bot.sent() if m["To"].startswith("ent")]
        assert sorted(replies) == sorted(f"ent{i}@corp.test" for i in range(MAILS))
    finally:
        rt.close()


def test_the_sender_threads_send_each_answer_once(bot):
    rt = bot.runtime(TODAY)
    try:
        with BackgroundSender(rt, None) as senders:
            fetch_pass(rt, open_source(rt), handoff=senders.handoff)
        rows = outbox(rt)
    finally:
        rt.close()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert len(bot.sent()) == len(rows)


def test_a_temporary_failure_closes_the_handoff_and_every_row_waits_in_the_table(bot):
    rt = bot.runtime(TODAY)
    refusing = Refusing()
    rt.transport, rt.extra_transports = refusing, []
    try:
        with BackgroundSender(rt, None) as senders:
            fetch_pass(rt, open_source(rt), handoff=senders.handoff)
        closed = not senders.handoff.is_open()
        rows = outbox(rt)
    finally:
        rt.close()
    assert closed and refusing.tries >= 1
    assert {r.status for r in rows} == {"pending"}  # none left claimed
    tried = [r for r in rows if r.attempts]
    assert all(r.claimed_by == "" for r in rows if r not in tried)  # given back untried
    assert len(tried) == refusing.tries  # a try counted only where a send was tried
    assert all("421" in r.last_error for r in tried)
    assert bot.sent() == []


def test_an_aborted_pass_gives_the_handed_rows_back(bot):
    rt = bot.runtime(TODAY)
    try:
        with pytest.raises(KeyboardInterrupt), BackgroundSender(rt, None) as senders:
            senders.handoff.close()  # the threads take nothing from here on
            handoff = Handoff(CLAIM_BATCH)  # what the pass hands over stays put until the abort
            fetch_pass(rt, open_source(rt), handoff=handoff)
            senders.handoff.put(handoff.leftovers())
            raise KeyboardInterrupt
        rows = outbox(rt)
    finally:
        rt.close()
    assert rows and {(r.status, r.claimed_by, r.attempts) for r in rows} == {("pending", "", 0)}


def test_when_the_pass_ends_no_sender_sleeps_its_wait_out(bot, monkeypatch):
    """At the end of a pass every sender thread is woken and stops: none sleeps until its wait for
    the next hand-over runs out (0.2 s more for every `run --once`)."""
    rt = bot.runtime(TODAY)
    rt.extra_transports = [rt.transport] * 3  # four sender threads, as four SMTP connections
    takes: list[tuple[float, object, bool]] = []
    try:
        senders = BackgroundSender(rt, None)
        take = senders.handoff.take

        def recorded(timeout):
            got = take(timeout)
            takes.append((timeout, got, senders._stop.is_set()))
            return got

        monkeypatch.setattr(senders.handoff, "take", recorded)
        for _ in range(5):
            with senders:
                time.sleep(0.25)  # an idle pass: the threads wait for the hand-over
            senders = BackgroundSender(rt, None)
            take = senders.handoff.take
            monkeypatch.setattr(senders.handoff, "take", recorded)
    finally:
        rt.close()
    slept_out = [t for t in takes if t[0] > 0 and t[1] == [] and t[2]]
    assert takes and slept_out == []


def test_wake_ups_are_not_rows_so_a_woken_thread_leaves_the_others_theirs():
    """A sender that is done stops when no rows wait. The other threads' wake-ups are not rows: had
    it taken them, they would have slept until their wait ran out."""
    handoff = Handoff(batch=2)
    handoff.put(rows(2))
    handoff.wake(3)
    assert not handoff.empty()
    assert len(handoff.take(timeout=0)) == 2
    assert handoff.empty()
    assert [handoff.take(timeout=0) for _ in range(3)] == [None, None, None]  # one each, still there


# -- room: the intake waits for the senders instead of piling their mail up in memory ---------------

def rows(n: int) -> list[Outbox]:
    return [Outbox(message_id=f"m{i}@rb.test", purpose="reply-accepted", mail_from=INTAKE,
                   recipients="a@corp.test", subject="回执", raw=b"x" * 10) for i in range(n)]


def test_the_intake_waits_while_the_queue_is_full_and_goes_on_when_a_sender_takes():
    handoff = Handoff(batch=2, room=4)
    assert handoff.wait_for_room(0)
    handoff.put(rows(4))  # full
    taker = threading.Timer(0.1, lambda: handoff.take(timeout=1))
    taker.start()
    started = time.monotonic()
    assert handoff.wait_for_room(5)  # woken by the take, long before the timeout
    assert time.monotonic() - started < 2
    taker.join()


def test_after_one_wait_in_vain_the_intake_does_not_wait_again_until_there_is_room():
    handoff = Handoff(batch=2, room=2)
    handoff.put(rows(2))
    assert not handoff.wait_for_room(0.05)  # the senders are slow: waited, in vain
    started = time.monotonic()
    assert not handoff.wait_for_room(5)  # no second wait while still full
    assert time.monotonic() - started < 1
    handoff.take(timeout=1)  # a sender takes a batch: room again
    assert handoff.wait_for_room(0)
    handoff.put(rows(2))
    threading.Timer(0.1, lambda: handoff.take(timeout=1)).start()
    assert handoff.wait_for_room(5)  # and the intake waits for the senders once more


def test_a_closed_hand_over_has_no_room_and_wakes_who_waits():
    handoff = Handoff(batch=2, room=2)
    handoff.put(rows(2))
    threading.Timer(0.1, handoff.close).start()
    started = time.monotonic()
    assert not handoff.wait_for_room(5)
    assert time.monotonic() - started < 2


def test_a_sender_takes_the_small_hand_overs_queued_behind_its_first_while_they_fit_in_a_batch():
    """Each intake transaction hands over a few rows; each batch a sender takes costs the intake a
    turn at SQLite's lock (BATCH_MARK). Batches join in order, never past the batch size, never
    across a wake-up."""
    handoff = Handoff(batch=5)
    made = rows(7)  # each with its own Message-ID
    first, second, third, fourth = made[0:2], made[2:4], made[4:6], made[6:7]
    for part in (first, second, third):
        handoff.put(part)
    def ids(batch):
        return [row.message_id for row in batch]

    assert ids(handoff.take(timeout=0)) == ids(first + second)  # the third would make 6
    handoff.wake(1)
    handoff.put(fourth)
    assert ids(handoff.take(timeout=0)) == ids(third)  # the wake-up behind it is not joined
    assert handoff.take(timeout=0) is None
    assert ids(handoff.take(timeout=0)) == ids(fourth)
    assert handoff.empty() and handoff.take(timeout=0) == []
    handoff.put(rows(12))  # one large hand-over is still cut into batches
    assert [len(handoff.take(timeout=0)) for _ in range(3)] == [5, 5, 2]


def test_leftovers_make_room_again():
    handoff = Handoff(batch=3, room=3)
    handoff.put(rows(5))
    assert len(handoff.leftovers()) == 5
    assert handoff.wait_for_room(0)


def test_with_no_room_the_intake_leaves_its_answers_in_the_table(bot, monkeypatch):
    """Nobody takes from the hand-over (the senders are stuck): after the first chunk the intake
    waits HANDOFF_WAIT, then writes its answers pending, for drain, instead of queueing them."""
    monkeypatch.setattr(pipeline, "HANDOFF_WAIT", 0.01)
    config = bot.root / "config.toml"
    config.write_text("commit_batch = 1\n" + config.read_text())  # a chunk per mail
    rt = bot.runtime(TODAY)
    handoff = Handoff(batch=CLAIM_BATCH, room=1)
    fetch_pass(rt, open_source(rt), handoff=handoff)
    rt.close()
    handed = handoff.leftovers()
    rows_now = outbox(rt)
    assert 1 <= len(handed) < len(rows_now)
    assert {r.id for r in rows_now if r.status == "sending"} == {r.id for r in handed}
    assert all(r.status == "pending" and not r.claimed_by for r in rows_now if r.id not in {h.id for h in handed})
