"""The outbox table: mail is queued in the transaction that caused it, and drained with retry.

4xx and network errors back off and retry (a mail still refused a day after it was queued is shown
to the admin: `delayed`); 5xx marks the mail failed, suppresses the address for a while and tells
the admin, unless it only asks for a slower pace (bot.outbox.transport.refusal_is_permanent).

Exactly once across a crash: a row is `finalizing` from just before the final dot. If the sender
dies there, or the connection breaks before the server's answer, nobody knows whether the server
took the mail. With a transport that sends our own copy (`confirm_grace` set), the copy's arrival
in our mailbox settles it (bot.outbox.confirm marks the row sent); no copy within the grace means
the server never had it, and the row goes out again. With a copy, the first dot of a sender's batch
marks the batch's later rows too (BATCH_MARK): a crash before their dots is settled the same way.
Without a copy there is no proof either way: each row is marked at its own dot, a dead sender's
`finalizing` row counts as sent and a broken connection sends again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from bot.errors import DeliveryError
from bot.outbox.compose import Draft, build_mime, new_message_id
from bot.outbox.transport import (
    ConnectFailed,
    OutcomeUnknown,
    RecipientsRefused,
    grace_of,
    refusal_is_permanent,
)
from bot.retry import backoff_delay
from bot.store import later
from bot.store.holders import holder_id, holder_is_dead
from bot.store.models import Outbox, Suppression
from bot.store.states import OutboxStatus
from bot.store.turns import NO_TURNS

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
DELAYED = timedelta(days=1)  # a mail still refused for now this long after it was queued is shown
CLAIM = timedelta(minutes=10)  # a live sender finishes far sooner (SMTP timeout 30 s)
CLAIMED = "outbox.claimed"  # Session.info: the rows that session wrote claimed (claimed_here)
SUPPRESSIONS = "outbox.suppressions"  # Session.info: address -> until, read once per session
SUPPRESSION_CACHE = "outbox.suppression_cache"  # Session.info: the SuppressionCache it was lent by
CLAIMED_BY = "outbox.claimed_by"  # Session.info: the holder that claims this session's new rows
ANSWER_COUNTS = "outbox.answer_counts"  # Session.info: address -> answers in the window (count_answers)


@dataclass(frozen=True)
class Sender:
    """Who we are on outgoing mail, and how much automatic mail one recipient may get."""

    address: str
    name: str
    domain: str
    cap: int = 0  # automatic mails per recipient in `window`; 0: no cap
    window: timedelta = timedelta(hours=24)


# What a stranger's mail can make us send (the replies, a unit's acknowledgement, a confirmation
# request, a referral, a forwarded result) is capped per recipient. Mail the office's own actions
# cause (slips, notices), the reminders (one per item and stage, they cannot loop) and the
# admin's own mail are not: a department with fifty cases gets all of its reminders.
ANSWERS = ("reply-", "ack", "confirm", "referral", "result-forward")
BOUNCED, CAPPED = "bounced", "capped"  # why a row is held back (the start of its last_error)


def queue(db: Session, draft: Draft, sender: Sender, now: datetime) -> Outbox | None:
    """Add a mail to the outbox in the caller's transaction. A recipient whose address bounced, or
    who has had `cap` automatic mails in the window, gets a copy held back (`suppressed`): kept and
    visible, sent when the suppression ends, never lost silently. None only without recipients.
    Copy recipients (`cc`, the admin on an escalation) go with the deliverable copy only."""
    to = _unique(draft.to)
    cc = [a for a in _unique(draft.cc) if a not in to and not _suppressed(db, a, now)]
    held = {a: why for a in to if (why := _held_back(db, a, draft.purpose, sender, now))}
    parts = [(part, copy, status, reason) for part, copy, status, reason in (
        ([a for a in to if a not in held], cc, OutboxStatus.PENDING, ""),
        (list(held), [], OutboxStatus.SUPPRESSED, "; ".join(sorted(set(held.values()))))) if part]
    # The draft's own Message-ID (if it has one) goes to the first row, the one returned.
    rows = [_add(db, draft, part, copy, sender, now, status, reason,
                 (draft.message_id if i == 0 else "") or new_message_id(sender.domain))
            for i, (part, copy, status, reason) in enumerate(parts)]
    if held:
        log.warning("OUTBOX-HELD purpose=%s case=%s: %d recipient(s) held back", draft.purpose,
                    draft.case_number, len(held))
    return rows[0] if rows else None


def _unique(addresses: list[str]) -> list[str]:
    return list(dict.fromkeys(a.strip().lower() for a in addresses if a and a.strip()))


def _add(db: Session, draft: Draft, to: list[str], cc: list[str], sender: Sender, now: datetime,
         status: str, reason: str, message_id: str) -> Outbox:
    raw = build_mime(replace(draft, to=to, cc=cc), message_id=message_id, mail_from=sender.address,
                     from_name=sender.name, now=now)
    row = Outbox(message_id=message_id, purpose=draft.purpose, case_number=draft.case_number,
                 mail_from=sender.address, recipients=",".join(to + cc), subject=draft.subject,
                 raw=raw, next_attempt_at=now, created_at=now, status=status, last_error=reason)
    holder = db.info.get(CLAIMED_BY)
    if holder and status == OutboxStatus.PENDING:  # written claimed: no claim query, no UPDATE
        row.status, row.claimed_by, row.attempts, row.next_attempt_at = (
            OutboxStatus.SENDING, holder, 1, now + CLAIM)
        db.info.setdefault(CLAIMED, []).append(row)
    later.add(db, row)
    _counted(db, row)
    return row


def claim_on_queue(db: Session, holder: str) -> None:
    """Mail queued in this session from now on is written claimed for `holder`: nobody else can
    see it before the commit, so no claim is needed. The caller takes it after its commit
    (claimed_here) and sends it itself (send_claimed)."""
    db.info[CLAIMED_BY] = holder


def claimed_here(db: Session) -> list[Outbox]:
    """The rows this session wrote claimed (claim_on_queue), taken out of it: the caller expunges
    them from `db` after its commit and hands them to a sender."""
    return db.info.pop(CLAIMED, [])


# Built once: asked for every answer the intake queues (a statement built per call costs more
# than the query). What counts against the cap: answers in the window that were not held back.
_ANSWERS = (Outbox.created_at >= bindparam("since"), or_(*(Outbox.purpose.startswith(p) for p in ANSWERS)),
            Outbox.status != OutboxStatus.SUPPRESSED)
_ANSWERS_SENT = select(func.count()).select_from(Outbox).where(
    Outbox.recipients == bindparam("address"), *_ANSWERS)
_ANSWERS_BY_ADDRESS = select(Outbox.recipients, func.count()).where(
    Outbox.recipients.in_(bindparam("addresses", expanding=True)), *_ANSWERS).group_by(Outbox.recipients)


def count_answers(db: Session, addresses: list[str], sender: Sender, now: datetime) -> None:
    """Read the answers sent in the window to `addresses` into `db`, in one query, for the many
    queue() calls of one transaction (the intake's chunk); the answers this session queues are
    added as they are queued. Another process's answers meanwhile count from the next
    transaction on. Addresses not read here are counted by a query of their own, as always."""
    if not sender.cap:
        return
    wanted = sorted({a.strip().lower() for a in addresses if a and a.strip()})
    counts = dict.fromkeys(wanted, 0)
    if wanted:
        counts.update(db.exec(_ANSWERS_BY_ADDRESS,
                              params={"addresses": wanted, "since": now - sender.window}).all())
    db.info[ANSWER_COUNTS] = counts


def _answers_sent(db: Session, address: str, sender: Sender, now: datetime) -> int:
    known = db.info.get(ANSWER_COUNTS)
    if known is not None and address in known:
        return known[address]
    since = now - sender.window
    waiting = sum(1 for row in later.held_rows(db) if isinstance(row, Outbox) and row.recipients == address
                  and _is_answer(row) and row.created_at >= since)  # not in the table before the commit
    return db.exec(_ANSWERS_SENT, params={"address": address, "since": since}).one() + waiting


def _is_answer(row: Outbox) -> bool:
    """What _ANSWERS counts (the cap), for a row not in the table yet."""
    return row.status != OutboxStatus.SUPPRESSED and row.purpose.startswith(ANSWERS)


def _counted(db: Session, row: Outbox) -> None:
    """An answer queued in a session that read its counts (count_answers) counts at once."""
    known = db.info.get(ANSWER_COUNTS)
    if known is not None and row.recipients in known and _is_answer(row):
        known[row.recipients] += 1


def _held_back(db: Session, address: str, purpose: str, sender: Sender, now: datetime) -> str:
    """Why mail to `address` must wait ("" when it need not)."""
    if _suppressed(db, address, now):
        return f"{BOUNCED}: the address bounced"
    if sender.cap and purpose.startswith(ANSWERS):
        sent = _answers_sent(db, address, sender, now)
        if sent >= sender.cap:
            return f"{CAPPED}: {sent} automatic mails in the window"
    return ""


def release_suppressed(db: Session, now: datetime) -> int:
    """Held-back mail whose recipients no longer bounce goes out (mail held by the cap stays:
    it was part of a storm, and the admin sees it in the digest)."""
    released = 0
    for row in db.exec(select(Outbox).where(Outbox.status == OutboxStatus.SUPPRESSED)):
        if row.last_error.startswith(BOUNCED) and not any(
                _suppressed(db, a, now) for a in row.recipients.split(",")):
            row.status, row.next_attempt_at, row.last_error = OutboxStatus.PENDING, now, ""
            db.add(row)
            released += 1
    return released


def delayed(db: Session, now: datetime, limit: int = 100) -> list[Outbox]:
    """Mail queued over DELAYED ago that the server has refused for now at every try so far (a 4xx,
    or a 5xx that only asks for a slower pace): it is retried on (hourly at most), and the admin
    is shown it, oldest first, so that someone can ask the mail server's keeper or phone the
    recipient."""
    return list(db.exec(select(Outbox).where(*_delayed_where(now)).order_by(Outbox.id).limit(limit)))


def count_delayed(db: Session, now: datetime) -> int:
    return db.exec(select(func.count()).select_from(Outbox).where(*_delayed_where(now))).one()


def _delayed_where(now: datetime) -> tuple:
    return (Outbox.status == OutboxStatus.PENDING, Outbox.attempts > 0, Outbox.last_error != "",
            Outbox.created_at < now - DELAYED)


def _suppressed(db: Session, address: str, now: datetime) -> bool:
    """Read once per session (a handful of bounced addresses; every recipient of a chunk asks),
    or taken from the process's SuppressionCache (SuppressionCache.lend)."""
    known = db.info.get(SUPPRESSIONS)
    if known is None:
        known = db.info[SUPPRESSIONS] = _read_suppressions(db)
    until = known.get(address)
    return until is not None and until > now


def _read_suppressions(db: Session) -> dict[str, datetime]:
    return dict(db.exec(select(Suppression.address, Suppression.until)).all())


@dataclass
class SuppressionCache:
    """The suppressed addresses for the intake's many short sessions (a write turn for a sender
    thread ends one): read from the table at most every `seconds`, instead of once per session.
    A session that suppresses an address makes the next one read the table again, so what it
    commits counts at once and what it rolls back never does; a suppression from another process
    counts within `seconds`, which against bounces that suppress for days changes nothing."""

    seconds: float = 2.0
    _known: dict[str, datetime] | None = None
    _read_at: float = 0.0

    def lend(self, db: Session) -> None:
        """Give `db` the process's suppressions (its own copy, which suppress adds to)."""
        known = self._known
        if known is None or time.monotonic() - self._read_at >= self.seconds:
            known = _read_suppressions(db)
            self._known, self._read_at = known, time.monotonic()
        db.info[SUPPRESSIONS] = dict(known)
        db.info[SUPPRESSION_CACHE] = self

    def expire(self) -> None:
        self._known = None


@dataclass
class DrainResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    # Set when this connection could not be opened while another one sends on (`spare`): the
    # rows it had not tried, still claimed (send_claimed) or handed back (drain), and why.
    untried: list[Outbox] | None = None
    refused: str = ""


def no_spare() -> bool:
    """The default `spare`: this is the only connection, so a refused one is an outage."""
    return False


CLAIM_BATCH = 4  # rows one sender claims in one commit; small, so that every sender has work


def drain(engine: Engine, transport, now_fn, *, respect_backoff: bool = True,
          limit: int = 500, on_permanent=None, holder: str | None = None,
          recover: bool = True, turns=NO_TURNS, spare=no_spare) -> DrainResult:
    """Send pending mail. Rows are claimed first, a few in one commit, so two daemons (or two
    sender threads) never send the same mail. `on_permanent(row, error, addresses)` is called after
    a 5xx refusal. `recover`: look for rows a dead sender left behind first (a sender that drains
    again and again during a pass does so once, when it starts). `spare()`, asked when the
    transport cannot open its connection, says whether another connection sends on: then no row
    is charged a try, the claimed ones are handed back and `untried` is set (see send_claimed)."""
    holder = holder or holder_id()
    result = DrainResult()
    if recover:
        recover_stale(engine, now_fn(), grace_of(transport))
    with Session(engine) as db:
        stmt = select(Outbox.id).where(Outbox.status == OutboxStatus.PENDING)
        if respect_backoff:
            stmt = stmt.where(Outbox.next_attempt_at <= now_fn())
        ids = list(db.exec(stmt.order_by(Outbox.id).limit(limit)))
    for start in range(0, len(ids), CLAIM_BATCH):
        chunk = ids[start:start + CLAIM_BATCH]
        with turns.turn():
            rows = _claim(engine, chunk, now_fn(), holder)
        result.skipped += len(chunk) - len(rows)  # another sender has them
        if not _send_claimed(engine, transport, rows, now_fn, on_permanent, holder, result,
                             respect_backoff, turns, spare):
            if result.untried:
                with turns.turn():
                    unclaim(engine, result.untried, holder, now_fn())
            break  # the server is unhappy: leave the rest for the next round
    return result


def send_claimed(engine: Engine, transport, rows: list[Outbox], now_fn, *, holder: str,
                 on_permanent=None, turns=NO_TURNS, spare=no_spare, record=None) -> DrainResult:
    """Send rows claimed by `holder` (claim_on_queue) as drain sends the rows it claims: a temporary
    failure hands the rows not tried yet back (pending, their try not counted). When the connection
    cannot be opened and `spare()` says another one sends on, the rows not tried stay claimed and
    come back in `untried`, for the caller to pass on. `record(sent)` takes the rows the server
    accepted (bot.outbox.sentmarks); without it they are written sent here."""
    result = DrainResult()
    _send_claimed(engine, transport, rows, now_fn, on_permanent, holder, result, True, turns, spare,
                  record)
    return result


def _send_claimed(engine: Engine, transport, rows: list[Outbox], now_fn, on_permanent, holder: str,
                  result: DrainResult, respect_backoff: bool, turns, spare=no_spare,
                  record=None) -> bool:
    """Send the claimed rows; their "sent" is recorded in one commit after the last (or left to
    `record`). False when a temporary failure says to stop (the rows not tried yet are handed
    back, no try counted), or when the connection could not be opened and another one takes over
    (`untried`)."""
    sent: list[tuple[Outbox, datetime]] = []
    # One connection marks the batch's rows at their final dot: a checkout (on PostgreSQL with the
    # pool's ping) per batch, not per mail. "sent" goes by a connection of its own, so that what
    # went out is recorded even when this one broke. A mark is a single UPDATE, committed by the
    # database as it runs (autocommit): one round trip where BEGIN, UPDATE and COMMIT were three,
    # and each of them a wait between the DATA and the final dot.
    with engine.connect() as connection:
        marks = connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            for index, row in enumerate(rows):
                try:
                    outcome = _send_one(engine, marks, transport, row, now_fn, on_permanent, turns,
                                        spare, following=rows[index + 1:])
                except ConnectFailed as exc:  # raised only when spare() let this connection go
                    result.untried, result.refused = rows[index:], str(exc)
                    return False
                if outcome == "sent":
                    sent.append((row, now_fn()))
                setattr(result, outcome, getattr(result, outcome) + 1)
                if outcome == "retried" and respect_backoff:
                    with turns.turn():
                        unclaim(engine, rows[index + 1:], holder, now_fn())
                    return False
            return True
        finally:  # also when a crash is on its way: what went out is kept
            if record is not None:
                record(sent)
            else:
                with turns.turn():
                    record_sent(engine, sent)


def _claim(engine: Engine, ids: list[int], now: datetime, holder: str) -> list[Outbox]:
    """Claim the rows of `ids` still pending, in one statement and one commit; returns them."""
    if not ids:
        return []
    with Session(engine, expire_on_commit=False) as db:
        stmt = (update(Outbox).where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENDING, claimed_by=holder, attempts=Outbox.attempts + 1,
                        next_attempt_at=now + CLAIM).returning(Outbox.id))
        claimed = set(db.execute(stmt).scalars())
        db.commit()
        if not claimed:
            return []
        rows = db.exec(select(Outbox).where(Outbox.id.in_(claimed)).order_by(Outbox.id)).all()
        db.expunge_all()
        return list(rows)


def unclaim(engine: Engine, rows: list[Outbox], holder: str, now: datetime) -> None:
    """Hand back claimed rows that were not tried: pending again, their try not counted. That
    includes rows the first dot of their batch marked `finalizing` (BATCH_MARK) that were never sent."""
    if not rows:
        return
    with Session(engine) as db:
        db.execute(update(Outbox).where(
            Outbox.id.in_([r.id for r in rows]),
            Outbox.status.in_((OutboxStatus.SENDING, OutboxStatus.FINALIZING)),
            Outbox.claimed_by == holder).values(status=OutboxStatus.PENDING, claimed_by="",
                                                attempts=Outbox.attempts - 1, next_attempt_at=now))
        db.commit()


_SENT = update(Outbox.__table__).where(Outbox.__table__.c.id == bindparam("row_id")).values(
    status=OutboxStatus.SENT, sent_at=bindparam("at"))


def record_sent(engine: Engine, sent: list[tuple[Outbox, datetime]]) -> None:
    """Mark the rows that the server accepted as sent, in one commit. Until then each is
    `finalizing`, which a crash leaves to the sent copy (or, without one, counts as sent)."""
    if not sent:
        return
    with engine.begin() as conn:
        write_sent(conn, sent)
    log_sent(sent)


def write_sent(conn, sent: list[tuple[Outbox, datetime]]) -> None:
    """The UPDATEs of record_sent in the caller's transaction (a Connection or a Session)."""
    if sent:  # Core: one statement run for every row (executemany)
        conn.execute(_SENT, [{"row_id": row.id, "at": at} for row, at in sent])


def log_sent(sent: list[tuple[Outbox, datetime]]) -> None:
    """After the commit that wrote them."""
    for row, _at in sent:
        # Addresses stay out of the log (the case number names the enterprise well enough).
        log.info("SENT %s purpose=%s case=%s recipients=%d", row.message_id, row.purpose,
                 row.case_number or "-", row.recipients.count(",") + 1)


def recover_stale(engine: Engine, now: datetime, confirm_grace: timedelta | None = None) -> None:
    """Rows left behind by a sender that died or lost its connection (see the module docstring).

    Each change is conditional on the row being as it was read: another sender (a thread here, or
    another daemon) may have recovered and claimed it meanwhile, and must not be overwritten."""
    with Session(engine) as db:
        rows = db.exec(select(Outbox.id, Outbox.message_id, Outbox.status, Outbox.claimed_by,
                              Outbox.next_attempt_at)
                       .where(Outbox.status.in_((OutboxStatus.SENDING, OutboxStatus.FINALIZING)))).all()
    for row in rows:
        verdict = _stale_verdict(row, now, confirm_grace)
        if verdict is None:
            continue
        status, reason = verdict
        values = dict(status=status, last_error=reason)
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        else:
            values["next_attempt_at"] = now
        with Session(engine) as db:
            changed = db.execute(update(Outbox).where(
                Outbox.id == row.id, Outbox.status == row.status,
                Outbox.claimed_by == row.claimed_by).values(**values)).rowcount
            db.commit()
        if changed:
            log.warning("RECOVERED %s -> %s (claimed by %s): %s", row.message_id, status,
                        row.claimed_by or "nobody", reason)


def _stale_verdict(row, now: datetime, confirm_grace: timedelta | None) -> tuple | None:
    """(new status, reason) for a row nobody is finishing, or None while it may still be in hand."""
    abandoned = not row.claimed_by or holder_is_dead(row.claimed_by)
    if row.status == OutboxStatus.SENDING:  # no dot yet: the server discarded whatever it got
        if abandoned or row.next_attempt_at <= now:
            return OutboxStatus.PENDING, "sender stopped before the final dot; sent again"
        return None
    if confirm_grace is not None:
        return None  # its sent copy decides: bot.outbox.confirm.settle_unconfirmed, by the intake
    if abandoned or row.next_attempt_at <= now:
        return OutboxStatus.SENT, "sender stopped after transmitting; counted as sent (no sent copy to check)"
    return None


def next_grace_end(engine: Engine, now: datetime) -> datetime | None:
    """The earliest end still to come of a `finalizing` row's grace (its copy decides it then)."""
    with Session(engine) as db:
        return db.exec(select(func.min(Outbox.next_attempt_at)).where(
            Outbox.status == OutboxStatus.FINALIZING, Outbox.next_attempt_at > now)).one()


def unconfirmed(engine: Engine) -> int:
    """Rows past the final dot whose outcome is still open (waiting for a sent copy)."""
    with Session(engine) as db:
        return len(db.exec(select(Outbox.id).where(Outbox.status == OutboxStatus.FINALIZING)).all())


# With a sent copy, the first dot of a batch marks the batch's later mails `finalizing` too: one
# write, where each mail's own was a turn at SQLite's one write lock that cut the intake's
# transaction short (bot.store.turns). A crash before their dots is then settled as one at a dot:
# no copy comes, and they go out again once the grace and this margin are over (instead of at
# once). The margin covers the batch's sending; a mail whose dot comes later is marked again.
BATCH_MARK = timedelta(seconds=3)

# Built once: every mail sent. One statement for the whole batch, which is one transaction on the
# autocommit connection (an executemany was a statement run and a commit per row); the first row
# gets `until`, the rest `later`.
_OUTBOX = Outbox.__table__
_FINALIZING = update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("row_ids", expanding=True))).values(
    status=OutboxStatus.FINALIZING, next_attempt_at=case(
        (_OUTBOX.c.id == bindparam("first"), bindparam("until", type_=_OUTBOX.c.next_attempt_at.type)),
        else_=bindparam("later", type_=_OUTBOX.c.next_attempt_at.type)))


def _send_one(engine: Engine, marks: Connection, transport, row: Outbox, now_fn, on_permanent,
              turns, spare=no_spare, following: list[Outbox] = ()) -> str:
    """Send one claimed row; "sent" is left to the caller's commit (record_sent). `marks`: the
    connection (autocommit) that writes the row `finalizing` before the final dot, and with it the
    rows of its batch that `following` names when a sent copy settles their crashes (BATCH_MARK).
    ConnectFailed comes out, the row untouched, when spare() says another connection sends it."""
    grace = grace_of(transport)

    def point_of_no_return() -> None:
        at = now_fn()
        if (grace is not None and row.status == OutboxStatus.FINALIZING
                and row.next_attempt_at >= at + grace):
            return  # marked with an earlier mail of its batch, and its copy still has its grace
        # until when a crash leaves the row to its copy (without a copy: the claim's own limit)
        batch = [(row, at + grace if grace is not None else row.next_attempt_at)]
        if grace is not None:
            batch += [(later_row, at + grace + BATCH_MARK) for later_row in following]
        with turns.turn(), marks.begin():  # no BEGIN or COMMIT is sent: marks is autocommit
            marks.execute(_FINALIZING, {"row_ids": [r.id for r, _until in batch], "first": row.id,
                                        "until": batch[0][1], "later": batch[-1][1]})
        for marked, until in batch:
            marked.status, marked.next_attempt_at = OutboxStatus.FINALIZING, until

    with Session(engine) as db:
        try:
            transport.send(row.raw, row.mail_from, row.recipients.split(","),
                           before_dot=point_of_no_return)
        except ConnectFailed as exc:
            if spare():  # nothing of it left, and another connection is open: not a try of the row
                raise
            db.add(row)
            return _record_failure(db, row, exc, now_fn(), on_permanent)
        except OutcomeUnknown as exc:
            db.add(row)
            if grace is None:
                return _record_failure(db, row, exc, now_fn(), on_permanent)
            return _await_copy(db, row, exc)
        except RecipientsRefused as exc:
            db.add(row)
            if not exc.accepted:
                return _record_failure(db, row, exc, now_fn(), on_permanent)
            return _partly_sent(db, row, exc, now_fn(), on_permanent)
        except DeliveryError as exc:
            db.add(row)
            return _record_failure(db, row, exc, now_fn(), on_permanent)
    return "sent"


def _await_copy(db: Session, row: Outbox, exc: OutcomeUnknown) -> str:
    """Leave the row `finalizing` and unclaimed: its copy marks it sent, or the grace runs out."""
    row.claimed_by = ""
    row.last_error = f"{exc}; waiting for the sent copy"[:2000]
    db.add(row)
    db.commit()
    log.warning("UNCONFIRMED %s: %s", row.message_id, exc)
    return "retried"


def _partly_sent(db: Session, row: Outbox, exc, now: datetime, on_permanent) -> str:
    """Some recipients have the mail: only the ones refused for now (4xx, or a 5xx that asks for a
    slower pace) are tried again (same Message-ID), the others are reported; nobody gets it twice."""
    failed = [a for a, (code, text) in exc.refused.items() if refusal_is_permanent(code, text)]
    again = [a for a in exc.refused if a not in failed]
    row.last_error = "; ".join(f"{a}: {c} {t}" for a, (c, t) in exc.refused.items())[:2000]
    if again:
        row.status, row.recipients = OutboxStatus.PENDING, ",".join(again)
        row.next_attempt_at = now + _retry_delay(row.attempts)
    else:
        row.status, row.sent_at = OutboxStatus.SENT, now
    db.add(row)
    db.commit()
    log.warning("PARTIAL %s case=%s delivered=%d retry=%d failed=%d", row.message_id,
                row.case_number or "-", len(exc.accepted), len(again), len(failed))
    if failed and on_permanent is not None:
        on_permanent(row, exc, failed)
    return "retried" if again else "sent"


def _record_failure(db: Session, row: Outbox, exc: DeliveryError, now: datetime,
                    on_permanent) -> str:
    row.last_error = str(exc)[:2000]
    if not exc.permanent:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now + _retry_delay(row.attempts)
        db.add(row)
        db.commit()
        log.warning("RETRY %s attempt=%d: %s", row.message_id, row.attempts, exc)
        return "retried"
    row.status = OutboxStatus.FAILED
    db.add(row)
    db.commit()
    log.error("FAILED %s case=%s: %s", row.message_id, row.case_number or "-", exc)
    if on_permanent is not None:
        on_permanent(row, exc, row.recipients.split(","))
    return "failed"


def _retry_delay(attempts: int) -> timedelta:
    """1 min after the first failed try (`attempts` counts it), then 2, 4 ... at most an hour:
    exact, because it is stored as the next attempt."""
    return timedelta(seconds=backoff_delay(attempts, base=30, cap=MAX_BACKOFF.total_seconds(), rng=None))


def suppress(db: Session, address: str, until: datetime, reason: str) -> None:
    row = db.get(Suppression, address) or Suppression(address=address, until=until)
    row.until, row.reason = until, reason[:500]
    db.add(row)
    if SUPPRESSIONS in db.info:
        db.info[SUPPRESSIONS][address] = until
    if SUPPRESSION_CACHE in db.info:
        db.info[SUPPRESSION_CACHE].expire()
