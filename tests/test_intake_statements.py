"""What a chunk of new mail costs the database: the rows the claim wrote are not read again, and a
case is written once with its reply's Message-ID (the embedded default, run like `run --once`,
every statement SQLAlchemy sends recorded)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.intake import pipeline
from bot.samples import FormValues, form_xlsx, registration_mail
from bot.service.daemon import run_once
from bot.service.jobs import Jobs
from bot.service.runtime import open_source
from bot.store.models import Case, CaseEvent, InboundMail, Outbox
from bot.store.states import MailStatus, OutboxStatus
from bot.store.turns import WriteTurns
from tests.support.embedded import INTAKE, REPO, Embedded

SEAT_COUNT = "count(*) AS count_1 FROM case_record"  # seats taken, per session
CODES = ("91150302MA05DFNF2Y", "91150303MA0N8Y7T4K", "911503007014502929")


def embedded(tmp_path, extra_config: str = "") -> Embedded:
    """The embedded default on a copy of the shipped rules; `extra_config` goes before its tables."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    bot = Embedded(tmp_path, rules)
    config = tmp_path / "config.toml"
    config.write_text(extra_config + config.read_text(encoding="utf-8"), encoding="utf-8")
    return bot


def deliver_forms(bot: Embedded, codes, prefix: str) -> None:
    """A form for each credit code, each from its own enterprise (Message-IDs prefix0, prefix1, …)."""
    for i, code in enumerate(codes):
        values = FormValues(enterprise_name=f"乌海市第{i + 1}新材料有限公司", credit_code=code)
        bot.deliver(registration_mail(sender=f"ent{i}@corp.test", to=INTAKE, message_id=f"{prefix}{i}@corp.test",
                                      attachments=[("表.xlsx", form_xlsx(values))]))


@pytest.fixture
def statements(tmp_path):
    bot = embedded(tmp_path)
    deliver_forms(bot, CODES, "s")
    rt = bot.runtime("2026-12-01")
    sent: list[str] = []
    event.listen(rt.engine, "before_cursor_execute",
                 lambda conn, cur, text, *rest: sent.append(" ".join(text.split())))
    run_once(rt, open_source(rt), Jobs(rt))
    with Session(rt.engine) as db:
        yield sent, list(db.exec(select(InboundMail))), db


def test_the_claimed_rows_are_not_read_again(statements):
    sent, mails, _ = statements
    assert len(mails) == len(CODES)
    assert all(m.status == MailStatus.DONE and m.attempts == 1 and m.decision for m in mails)
    by_id = [s for s in sent if s.startswith("SELECT inbound_mail.id")
             and "WHERE inbound_mail.id = " in s]
    assert by_id == []


def test_a_case_is_written_with_its_replys_message_id(statements):
    sent, mails, db = statements
    cases = list(db.exec(select(Case)))
    replies = {o.case_number: o.message_id for o in db.exec(select(Outbox))
               if o.purpose.startswith("reply-")}
    assert len(cases) == len(CODES)
    assert all(c.last_outbound_id and c.last_outbound_id == replies[c.number] for c in cases)
    assert [s for s in sent if s.startswith("UPDATE case_record")] == []


# -- RATE-LIMIT and the answer cap: counted once per chunk -------------------------------------------

LIMIT = 3


@pytest.fixture
def busy_sender(tmp_path):
    """One enterprise writes five times in a row (another once), with the rate limit at three."""
    bot = embedded(tmp_path, f"rate_limit_per_recipient = {LIMIT}\n")
    mails = [("busy@corp.test", f"busy{i}@corp.test", CODES[0]) for i in range(5)]
    mails.insert(2, ("calm@corp.test", "calm@corp.test", CODES[1]))
    for sender, mid, code in mails:
        bot.deliver(registration_mail(sender=sender, to=INTAKE, message_id=mid, attachments=[
            ("表.xlsx", form_xlsx(FormValues(enterprise_name="乌海市新材料有限公司", credit_code=code)))]))
    return bot


def _run(bot: Embedded, sent: list[str]):
    rt = bot.runtime("2026-12-01")
    event.listen(rt.engine, "before_cursor_execute",
                 lambda conn, cur, text, *rest: sent.append(" ".join(text.split())))
    run_once(rt, open_source(rt), Jobs(rt))
    with Session(rt.engine) as db:
        return ({m.message_id: m.rules for m in db.exec(select(InboundMail))},
                [o for o in db.exec(select(Outbox)) if o.purpose.startswith("reply-")])


def one_chunk(monkeypatch) -> None:
    """Every mail is read before the first chunk is cut: the pass is one chunk."""
    chunk_end = pipeline._chunk_end

    def whole_batch(rt, prepared, start):
        for item in prepared:
            item.job.result(rt.ruleset)
        return chunk_end(rt, prepared, start)

    monkeypatch.setattr(pipeline, "_chunk_end", whole_batch)


def test_one_chunk_counts_its_senders_once_and_writes_its_outcomes_together(busy_sender, monkeypatch):
    one_chunk(monkeypatch)
    sent: list[str] = []
    rules, replies = _run(busy_sender, sent)
    limited = sorted(mid for mid, ids in rules.items() if "RATE-LIMIT" in ids)
    assert limited == ["busy3@corp.test", "busy4@corp.test"]
    assert sorted(o.recipients for o in replies) == ["busy@corp.test"] * LIMIT + ["calm@corp.test"]
    # One count of the chunk's senders and one of its answers per transaction, none per mail.
    per_mail = [s for s in sent if s.startswith("SELECT count(*)") and ("FROM inbound_mail" in s
                                                                       or "FROM outbox" in s)]
    assert per_mail == []
    assert sum(s.startswith("SELECT inbound_mail.sender, count(*)") for s in sent) == 1
    assert sum(s.startswith("SELECT outbox.recipients, count(*)") for s in sent) == 1
    # The chunk's outcomes and case events are written together at its commit: one UPDATE for
    # each set of columns its outcomes changed (the answered mails', the rate-limited ones').
    updates = {s for s in sent if s.startswith("UPDATE inbound_mail")}
    assert sum(s.startswith("UPDATE inbound_mail") for s in sent) == len(updates) == 2
    # The case events go in as one statement, after the last case.
    events = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO case_event")]
    cases = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO case_record")]
    assert len(events) == 1 and len(cases) == 2  # busy's later forms update its case
    assert events[0] > cases[-1]
    mails = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO outbox")]
    assert mails and mails[0] > cases[-1]
    # The new mails' rows and the chunk's replies go in as one INSERT each: SQLite tells the new
    # ids apart by their Message-IDs (the rate-limited mails above got their own outcomes).
    assert len(mails) == 1 and sum(s.startswith("INSERT INTO inbound_mail") for s in sent) == 1
    delivered = {m["Message-ID"].strip("<>"): m["To"] for m in busy_sender.sent()}
    assert {o.message_id: o.recipients for o in replies} == delivered
    assert all(o.status == OutboxStatus.SENT for o in replies)  # each row marked by its own id


def test_a_chunk_cut_by_senders_turns_counts_once_and_still_limits(busy_sender, monkeypatch):
    """On SQLite a sender waiting for the write lock makes the chunk commit after the mail in hand
    (bot.store.turns): here after every mail. The counts read by the first transaction go on to
    the next ones with the mails done and the answers queued since."""
    one_chunk(monkeypatch)
    monkeypatch.setattr(WriteTurns, "wanted", lambda self: True)
    sent: list[str] = []
    rules, replies = _run(busy_sender, sent)
    assert sum(s.startswith("UPDATE inbound_mail") for s in sent) == 6  # a transaction per mail
    assert sorted(mid for mid, ids in rules.items() if "RATE-LIMIT" in ids) == ["busy3@corp.test",
                                                                              "busy4@corp.test"]
    assert sorted(o.recipients for o in replies) == ["busy@corp.test"] * LIMIT + ["calm@corp.test"]
    assert sum(s.startswith("SELECT inbound_mail.sender, count(*)") for s in sent) == 1
    assert sum(s.startswith("SELECT outbox.recipients, count(*)") for s in sent) == 1


def test_mail_done_in_an_earlier_pass_counts_against_the_limit(busy_sender):
    _run(busy_sender, [])
    busy_sender.deliver(registration_mail(sender="busy@corp.test", to=INTAKE, message_id="busy5@corp.test",
                                          attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    busy_sender.deliver(registration_mail(sender="new@corp.test", to=INTAKE, message_id="new@corp.test",
                                          attachments=[("表.xlsx", form_xlsx(FormValues()))]))
    rules, replies = _run(busy_sender, [])
    assert "RATE-LIMIT" in rules["busy5@corp.test"] and "RATE-LIMIT" not in rules["new@corp.test"]
    assert sorted(o.recipients for o in replies).count("busy@corp.test") == LIMIT


def test_a_chunks_case_events_go_in_as_one_statement_with_their_cases_ids(busy_sender, monkeypatch):
    one_chunk(monkeypatch)
    sent: list[str] = []
    _run(busy_sender, sent)
    inserts = [s for s in sent if s.startswith("INSERT INTO case_event")]
    # SQLite: no INSERT per event, one with a row of VALUES for each of the chunk's four events
    assert len(inserts) == 1 and inserts[0].count("(?, ?, ?, ?)") == 4
    rt = busy_sender.runtime("2026-12-01")
    with Session(rt.engine) as db:
        cases = {c.sender: c for c in db.exec(select(Case))}
        events = [(e.case_id, e.event, e.at.tzinfo is not None)
                  for e in db.exec(select(CaseEvent).order_by(CaseEvent.id))]
    busy, calm = cases["busy@corp.test"], cases["calm@corp.test"]
    # busy's first form makes its case, its second and third update it (the last two are
    # rate-limited: no case event); calm's one form makes its own case.
    assert events == [(busy.id, busy.decision, True), (busy.id, "updated", True),
                      (calm.id, calm.decision, True), (busy.id, "updated", True)]



def test_a_full_session_is_not_counted_again_for_every_later_mail(tmp_path, monkeypatch):
    """A chunk counts a session's seats once and again only after a mail took a seat in it: once
    the current session is full, the forms after it are deferred without counting anything. The
    cases of its forms' credit codes are read in one query for all of them."""
    bot = embedded(tmp_path)
    sessions = tmp_path / "rules" / "sessions.toml"
    sessions.write_text(sessions.read_text(encoding="utf-8").replace("capacity = 8", "capacity = 1", 1),
                        encoding="utf-8")
    codes = ("91150302MA05DFNF2Y", "91150302MA0N1RX23K", "91150302MAJG7LCM8G", "91150302MAK11LCR49")
    deliver_forms(bot, codes, "f")
    one_chunk(monkeypatch)
    monkeypatch.setattr(WriteTurns, "wanted", lambda self: False)  # one transaction for the chunk
    sent: list[str] = []
    outcomes, _ = _run(bot, sent)
    assert [outcomes[f"f{i}@corp.test"] for i in range(4)] == ["MATCH-CURRENT"] + ["SESSION-FULL"] * 3
    cases = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO case_record")]
    counts = [i for i, s in enumerate(sent) if SEAT_COUNT in s]
    # The first form's case goes in when the session is counted again (it took a seat); the
    # other three forms' cases go in together at the commit, with nothing counted for them.
    assert len(cases) == 2
    assert counts[0] < cases[0] < counts[1] < cases[1]
    assert [i for i in counts if i > counts[1]] == []
    with Session(bot.runtime("2026-12-01").engine) as db:
        assert len(list(db.exec(select(Case)))) == 4
    by_code = [s for s in sent if s.startswith("SELECT case_record") and "WHERE case_record.credit_code" in s]
    assert len(by_code) == 1 and "IN (" in by_code[0]  # the chunk's codes read together, once


def test_a_chunks_new_cases_take_the_counter_once_and_go_in_together(tmp_path, monkeypatch):
    """A chunk's new cases are numbered from one UPDATE of the year's counter; a second one stores
    the last number before the commit, and the next pass goes on from it. The cases go in together
    (a seat count in between needs the cases before it: the accepted forms), and each event names
    its own case."""
    bot = embedded(tmp_path)
    form = [("表.xlsx", form_xlsx(FormValues(credit_code=CODES[0])))]
    bot.deliver(registration_mail(sender="first@corp.test", to=INTAKE, message_id="first@corp.test",
                                  attachments=form))
    _run(bot, [])  # the year's counter exists from here on
    chunk = ("91150302MA0N1RX23K", "91150302MAJG7LCM8G", "91150302MAK11LCR49", *CODES[1:])
    deliver_forms(bot, chunk, "n")
    one_chunk(monkeypatch)
    monkeypatch.setattr(WriteTurns, "wanted", lambda self: False)  # one transaction for the chunk
    sent: list[str] = []
    _run(bot, sent)
    assert len([s for s in sent if s.startswith("UPDATE counter")]) == 2
    inserts = [i for i, s in enumerate(sent) if s.startswith("INSERT INTO case_record")]
    assert len(inserts) < len(chunk)
    assert all(SEAT_COUNT in sent[i + 1] for i in inserts[:-1])
    bot.deliver(registration_mail(sender="late@corp.test", to=INTAKE, message_id="late@corp.test",
                                  attachments=form))
    _run(bot, [])
    with Session(bot.runtime("2026-12-01").engine) as db:
        cases = list(db.exec(select(Case)))
        events = {(e.case_id, e.event) for e in db.exec(select(CaseEvent))}
    numbers = sorted(int(c.number.rsplit("-", 1)[-1]) for c in cases)
    assert numbers == list(range(1, len(chunk) + 3))
    assert all((c.id, c.decision) in events for c in cases)
