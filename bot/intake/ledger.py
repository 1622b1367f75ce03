"""The message ledger's side of intake: which mails are new, and how tries are counted.

A mail is tried at most `max_attempts` times, and a try that never returned (the process was killed)
counts as much as one that raised. Mail is claimed in chunks: one commit adds a ledger row for each
new mail of a chunk, with no try counted yet, and the chunk's outcomes are committed together, each
row's try counted with its outcome. While a mail of a chunk is handled, its row is named in the
in-hand file (bot.intake.inhand), so a kill -9 in a chunk is counted against the mail it hit and
against no other: the next pass counts that one try from the file, and takes every row the chunk
left unfinished one mail at a time, each try counted in a commit of its own before it starts, as
mail was always tried. So a mail that kills the process is quarantined after `max_attempts` deaths,
and the mails beside it in its chunk are answered.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, select

from bot.cases import clip
from bot.context import Runtime
from bot.followup.trust import record_event
from bot.intake.inhand import InHand
from bot.mailbox.base import Fetched
from bot.message.model import InboundMessage
from bot.store.models import InboundMail
from bot.store.states import MailStatus

log = logging.getLogger(__name__)

NEW, AGAIN, TODO = "new", "again", "todo"  # claim states besides the outcomes duplicate/quarantined
TRACEBACK_LIMIT = 16000  # characters of a traceback kept in the ledger row


@dataclass
class Arrival:
    """One fetched mail as the ledger needs it: where it came from and what it says it is."""

    item: Fetched
    msg: InboundMessage | None
    digest_hex: str
    path: Path


@dataclass
class Claim:
    """The ledger row of a mail and what to do with it: NEW (handle in the chunk's transaction),
    AGAIN (a row an earlier try left unfinished: one at a time), or its outcome already."""

    row_id: int
    state: str
    # The row as this claim committed it (NEW only): the chunk's transaction takes it over without
    # reading it again (Session.merge, load=False); it holds what a read would find, since only
    # the process that claimed a new row writes it before its outcome.
    row: InboundMail | None = None


def message_id(msg: InboundMessage | None, digest_hex: str) -> str:
    """The ledger key; an absurdly long Message-ID (hostile) is replaced by a digest of itself."""
    mid = msg.message_id if msg and msg.message_id else f"{digest_hex}@archive.invalid"
    if len(mid) > 400:
        mid = f"{hashlib.sha256(mid.encode('utf-8', 'replace')).hexdigest()}@long.invalid"
    return mid


def blame_left_behind(rt: Runtime, in_hand: InHand) -> None:
    """Count the try that a killed process left in the in-hand file against the mail it was
    handling (when that mail is still unfinished), once."""
    row_id = in_hand.left_behind()
    if row_id is None:
        return
    with Session(rt.engine) as db:
        counted = db.execute(update(InboundMail).where(
            InboundMail.id == row_id, InboundMail.status == MailStatus.RECEIVED)
            .values(attempts=InboundMail.attempts + 1)).rowcount
        db.commit()
    in_hand.clear()
    if counted:
        log.warning("UNFINISHED ledger row %d: the process stopped while handling it; try counted",
                    row_id)


def claim_chunk(rt: Runtime, arrivals: list[Arrival]) -> list[Claim]:
    """One lookup and one commit for a chunk: a row (no try counted) for each new mail."""
    if not arrivals:
        return []
    with rt.turns.turn(), Session(rt.engine, expire_on_commit=False) as db:
        known = _known_rows(db, arrivals)
        found: list[tuple[InboundMail, str]] = []
        for arrival in arrivals:
            row, mid = _find(db, known, arrival)
            if row is None:
                row = _new_row(rt, arrival, mid)
                db.add(row)
                known.append(row)
                found.append((row, NEW))
            else:
                # A second copy of a mail in this chunk finds the first's new row: it waits for
                # that row's outcome like any row on record (one at a time, after the first).
                found.append((row, _state_of(row, mid, arrival)))
        db.flush()  # the new rows get their ids (one INSERT for the chunk)
        claims = [Claim(row.id, state, row if state == NEW else None) for row, state in found]
        db.commit()
        db.expunge_all()
    return claims


def release_unreached(rt: Runtime, row_ids: list[int]) -> None:
    """A stop request came before these new rows of a chunk were handled: their claims are taken
    back (no try was counted, nothing was recorded), so a graceful stop leaves no unfinished row
    behind; the mails stay in the inbox and are claimed again at the next start."""
    if not row_ids:
        return
    with Session(rt.engine) as db:
        db.execute(delete(InboundMail).where(InboundMail.id.in_(row_ids),
                                             InboundMail.status == MailStatus.RECEIVED,
                                             InboundMail.attempts == 0))
        db.commit()


def claim_one(rt: Runtime, row_id: int) -> str:
    """Count this try in a commit of its own before it starts (TODO), or the row's outcome: it
    is done, quarantined, or has used up its tries and is quarantined now."""
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        if row.status in (MailStatus.DONE, MailStatus.QUARANTINED):
            log.info("DUPLICATE <%s> digest=%s already %s", row.message_id, row.digest[:12], row.status)
            return "duplicate" if row.status == MailStatus.DONE else "quarantined"
        if row.attempts >= rt.config.max_attempts:
            return _quarantine_spent(db, rt, row)
        row.attempts += 1
        db.add(row)
        db.commit()
        return TODO


def record_error(rt: Runtime, row_id: int, exc: Exception, counted: bool) -> str:
    """The whole traceback goes into the row, so a quarantined mail says where it failed.
    `counted`: the try was counted before it started (one at a time); else it is counted here."""
    text = "".join(traceback.format_exception(exc)).strip()
    if len(text) > TRACEBACK_LIMIT:  # the outer frames go first: the failing call is at the end
        text = "…\n" + text[-TRACEBACK_LIMIT:]
    with Session(rt.engine) as db:
        row = db.get(InboundMail, row_id)
        row.last_error = text
        if not counted:
            row.attempts += 1
        if row.attempts >= rt.config.max_attempts:
            row.status = MailStatus.QUARANTINED
        db.add(row)
        db.commit()
        return "quarantined" if row.status == MailStatus.QUARANTINED else "error"


def _known_rows(db: Session, arrivals: list[Arrival]) -> list[InboundMail]:
    """The rows of the chunk's mails, found by mailbox key or Message-ID, in one query. A chunk's
    mails share their folder: the UIDs of each go in one IN list, so that the statement has the
    same shape from chunk to chunk (compiled once) rather than three terms per mail."""
    places: dict[tuple[str, int], list[int]] = {}
    for a in arrivals:
        places.setdefault((a.item.mailbox, a.item.uidvalidity), []).append(a.item.uid)
    keys = [and_(InboundMail.mailbox == mailbox, InboundMail.uidvalidity == validity, InboundMail.uid.in_(uids))
            for (mailbox, validity), uids in places.items()]
    mids = [message_id(a.msg, a.digest_hex) for a in arrivals]
    return list(db.exec(select(InboundMail).where(or_(*keys, InboundMail.message_id.in_(mids)))))


def _find(db: Session, known: list[InboundMail], arrival: Arrival) -> tuple[InboundMail | None, str]:
    """The row of this mail (by its place in the mailbox, or by Message-ID), and its ledger key."""
    item, mid = arrival.item, message_id(arrival.msg, arrival.digest_hex)
    row = _match(known, item, mid)
    elsewhere = row is not None and (row.mailbox, row.uidvalidity, row.uid) != (
        item.mailbox, item.uidvalidity, item.uid)
    if elsewhere and not _same_mail(row, item.raw):
        log.warning("MESSAGE-ID-REUSED <%s>: another mail with this id; recorded apart", mid)
        mid = f"{arrival.digest_hex}@reused-id.invalid"
        row = _match(known, item, mid) or db.exec(
            select(InboundMail).where(InboundMail.message_id == mid)).first()
    return row, mid


def _match(known: list[InboundMail], item: Fetched, mid: str) -> InboundMail | None:
    """As the one-row query did: the first row (by id) with the same place or the same Message-ID."""
    hits = [r for r in known if (r.mailbox, r.uidvalidity, r.uid) == (item.mailbox, item.uidvalidity,
                                                                       item.uid) or r.message_id == mid]
    return min(hits, key=lambda r: r.id or 2**62) if hits else None


def _state_of(row: InboundMail, mid: str, arrival: Arrival) -> str:
    if row.status in (MailStatus.DONE, MailStatus.QUARANTINED):
        log.info("DUPLICATE <%s> digest=%s already %s", mid, arrival.digest_hex[:12], row.status)
        return "duplicate" if row.status == MailStatus.DONE else "quarantined"
    return AGAIN


def _new_row(rt: Runtime, arrival: Arrival, mid: str) -> InboundMail:
    item, msg = arrival.item, arrival.msg
    return InboundMail(mailbox=item.mailbox, uidvalidity=item.uidvalidity, uid=item.uid,
                       message_id=mid, digest=arrival.digest_hex, archive_path=str(arrival.path),
                       sender=clip(msg.from_addr if msg else "", 320),
                       subject=(msg.subject if msg else "")[:2000], received_at=rt.now())


def _same_mail(row: InboundMail, raw: bytes) -> bool:
    """The same bytes (line ends aside: IMAP gives CRLF, a Maildir LF) as the mail on record."""
    try:
        known = Path(row.archive_path).read_bytes()
    except OSError:
        return True  # cannot tell: the Message-ID decides, as it always did
    return known.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def _quarantine_spent(db: Session, rt: Runtime, row: InboundMail) -> str:
    row.status = MailStatus.QUARANTINED
    row.last_error = (row.last_error + "\n" if row.last_error else "") + (
        f"quarantined when claimed: {row.attempts} tries did not finish (the process was stopped)")
    db.add(row)
    record_event(db, rt, "quarantined", row.sender, row.case_number,
                 f"主题为“{row.subject[:80]}”的来信连续{row.attempts}次处理未完成，已隔离，请人工查看",
                 f"<{row.message_id}> set aside after {row.attempts} unfinished tries")
    db.commit()
    log.error("QUARANTINED <%s> after %d tries that did not finish", row.message_id, row.attempts)
    return "quarantined"
