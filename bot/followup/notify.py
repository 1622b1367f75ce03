"""Everything the bot tells the admin: one place drafts it, in the caller's transaction or its own.

The admin's mail is never suppressed or rate-limited by the bounce logic (see intake.bounces), and
never answered by the admin's own auto-replies (it is marked auto-generated)."""

from __future__ import annotations

import logging
import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.followup.held import expire_overdue
from bot.followup.status import IN_HAND, KIND_CN
from bot.followup.views import overdue_items
from bot.outbox.compose import Draft
from bot.outbox.queue import delayed, queue
from bot.store.models import Case, Outbox, ReminderLog, TrustEvent
from bot.store.states import CaseStatus, OutboxStatus

log = logging.getLogger(__name__)


def admin_draft(rt: Runtime, template: str, **values) -> Draft | None:
    """The mail `template` renders for the admin; None when no admin address is configured."""
    if not rt.admin_emails:
        log.warning("ADMIN no admin_emails configured; %s not mailed", template)
        return None
    values.setdefault("cn_date", cn_date)
    subject, body = rt.templates.render(template, programme=rt.ruleset.programme, **values)
    case = values.get("case")
    return Draft(purpose="admin", to=rt.admin_emails, subject=subject, body=body,
                 case_number=case.number if case is not None else "",
                 auto_submitted="auto-generated")


def notify_admin(db: Session, rt: Runtime, template: str, **values) -> Outbox | None:
    """Queue the admin's mail in the caller's transaction (it commits with the change it reports).
    The queued row's Message-ID lets a reply to it be recognised (see followup.admin_reply)."""
    draft = admin_draft(rt, template, **values)
    if draft is None:
        return None
    return queue(db, draft, rt.sender, rt.now())


def tell_admin(rt: Runtime, template: str, **values) -> None:
    """Queue the admin's mail in a transaction of its own (an event with no other change)."""
    with Session(rt.engine) as db:
        notify_admin(db, rt, template, **values)
        db.commit()


def queue_digest(rt: Runtime) -> None:
    """The weekly digest to the admin: open cases and everything overdue."""
    today = rt.today()
    year, week, _day = today.isocalendar()
    with Session(rt.engine) as db:
        overdue = overdue_items(db, rt, today)
        open_count = len(db.exec(select(Case.id).where(Case.status.in_(IN_HAND))).all())
        pending = len(db.exec(select(Case.id).where(Case.status == CaseStatus.ANSWER_PENDING)).all())
        draft = admin_draft(rt, "admin_digest", overdue=overdue, open_count=open_count, today=today,
                            kind_cn=KIND_CN, pending_answers=pending)
        if draft is None:
            return
        # Recorded with the mail, so a restart (or a second daemon) sends one digest a week.
        try:
            db.add(ReminderLog(key=f"digest:{year}-W{week:02d}", sent_on=today))
            queue(db, draft, rt.sender, rt.now())
            db.commit()
        except IntegrityError:
            db.rollback()
            log.info("DIGEST for %d-W%02d already sent", year, week)


def queue_trust_digest(rt: Runtime) -> int:
    """Once a day: every mail refused, held, confirmed or set aside since the last digest, and the
    mail our bounce logic holds back, in one mail to the admin. Each event is told once: it is
    marked in the transaction that queues the mail."""
    with Session(rt.engine) as db:
        expire_overdue(db, rt)
        events = list(db.exec(select(TrustEvent).where(TrustEvent.told == False)  # noqa: E712
                              .order_by(TrustEvent.id).limit(500)))
        held_back, late = _outbox_state(db, rt)
        if not events and not held_back and not late:
            db.commit()
            return 0
        notify_admin(db, rt, "admin_trust_digest", events=[_event_line(rt, e) for e in events],
                     held_back=held_back, delayed=late, today=rt.today(), cn_date=cn_date)
        for event in events:
            event.told = True
            db.add(event)
        try:
            db.commit()
        except IntegrityError:  # another daemon listed the outbox today, in the same moment
            db.rollback()
            return 0
        return len(events)


def _outbox_state(db: Session, rt: Runtime) -> tuple[list[Outbox], list[str]]:
    """The mail held back and the mail the server keeps refusing, in the first notice of the day
    only: they are states, not events, and `run --once` from cron asks for a notice every run."""
    key = f"outbox-state:{rt.today().isoformat()}"
    if db.exec(select(ReminderLog.id).where(ReminderLog.key == key)).first() is not None:
        return [], []
    held_back = list(db.exec(select(Outbox).where(Outbox.status == OutboxStatus.SUPPRESSED)
                             .order_by(Outbox.id).limit(100)))
    late = [_delayed_line(rt, row) for row in delayed(db, rt.now())]
    if held_back or late:
        db.add(ReminderLog(key=key, sent_on=rt.today()))
    return held_back, late


_EVENT_CN = {"refused": "已拒绝", "held": "待确认", "confirmed": "已确认并办理", "expired": "确认码过期，未办理",
             "quarantined": "已隔离", "bounce-ignored": "退信未采信", "duplicate-code": "信用代码重复"}


def _event_line(rt: Runtime, event: TrustEvent) -> str:
    when = rt.clock.aware(event.at).strftime("%H:%M") if event.at else ""
    what = _EVENT_CN.get(event.kind, event.kind)
    case = f"（{event.case_number}）" if event.case_number else ""
    return f"{when} {what}{case}：{event.address or '未知发件人'}；{event.detail}"


# An SMTP reply in a delivery error: "… refused: 450 4.7.1 …", "…: ent@x.cn: 550 MI:SFQ …"; a
# port (":465") or an errno ("[Errno 111]") is no reply.
_SERVER_REPLY = re.compile(r"(?:^|\s)([45]\d\d[ -]\S.*)")


def _delayed_line(rt: Runtime, row: Outbox) -> str:
    """One mail the server keeps refusing for now: what, to whom, since when, and its last answer."""
    queued = rt.clock.aware(row.created_at)
    since = f"{queued.month}月{queued.day}日 {queued:%H:%M}"
    return (f"{row.subject or '（无主题）'}（收件人：{row.recipients}；{since}排队，已尝试 {row.attempts} 次；"
            f"服务器最近答复：“{server_reply(row.last_error)}”）")


def server_reply(error: str) -> str:
    """The server's own words in a delivery error, without ours around them, short enough to quote
    on one line (the whole error when it holds no SMTP reply: a refused connection, a timeout)."""
    said = _SERVER_REPLY.search(error)
    return " ".join((said.group(1) if said else error).split())[:80].replace("”", '"')
