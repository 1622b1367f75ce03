"""A unit's report by mail: 落实情况, 进展, 办理结果 or 延期申请, recorded and acknowledged."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot.cases import add_event
from bot.context import Runtime
from bot.followup import answers, extensions
from bot.followup.incoming import Followup
from bot.followup.status import KIND_CN
from bot.intake.archive import archive_raw
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.outbox.compose import Draft
from bot.outbox.queue import queue
from bot.store.models import Assignment, Case, ReminderLog, UnitReport
from bot.store.states import ReportKind, Role

log = logging.getLogger(__name__)

_KIND_WORDS = (
    (ReportKind.EXTENSION, ("延期申请", "申请延期", "延期")),
    (ReportKind.RESULT, ("办理结果", "办结", "已解决", "结果报告")),
    (ReportKind.PROGRESS, ("进展情况", "十日一报", "阶段性进展", "进展")),
    (ReportKind.STATUS, ("落实情况", "落实")),
)


def classify(subject: str, body: str, has_status: bool) -> str:
    """The report's kind from the subject first, then the fresh text of the body."""
    for text in (subject or "", fresh_text(body)):
        for kind, words in _KIND_WORDS:
            if any(w in text for w in words):
                return kind
    return ReportKind.PROGRESS if has_status else ReportKind.STATUS


def record_report(db: Session, rt: Runtime, msg: InboundMessage, case: Case,
                  assignment: Assignment) -> Followup:
    now, today = rt.now(), rt.today()
    reports = list(db.exec(select(UnitReport).where(UnitReport.assignment_id == assignment.id)))
    kind = classify(msg.subject, msg.text_body, any(r.kind == ReportKind.STATUS for r in reports))
    for att in msg.attachments:
        if att.data:
            archive_raw(rt.config.archive_dir, att.data)
    summary = fresh_text(msg.text_body)[:4000]
    report = UnitReport(assignment_id=assignment.id, kind=kind, received=today,
                        message_id=msg.message_id, summary=summary)
    db.add(report)
    db.flush()  # the review below refers to it
    add_event(db, case, now, f"report-{kind}", f"{assignment.unit_id}: {summary[:200]}")
    unit = rt.ruleset.unit_by_id(assignment.unit_id)
    if kind == ReportKind.RESULT and assignment.role == Role.LEAD:
        answers.result_received(db, rt, case, assignment, report)
    elif kind == ReportKind.EXTENSION:
        extensions.request_received(db, rt, case, assignment, report)
    _acknowledge(db, rt, msg, case, unit, kind)
    return Followup("report", case.number, kind)


def _acknowledge(db: Session, rt: Runtime, msg: InboundMessage, case: Case, unit, kind: str) -> None:
    """At most one acknowledgement per case, unit, kind and day: a unit's auto-responder that
    answers our acknowledgement cannot start an exchange of mails (recorded like a reminder)."""
    key = f"ack:{case.number}:{unit.id if unit else msg.from_addr}:{kind}:{rt.today().isoformat()}"
    if db.exec(select(ReminderLog.id).where(ReminderLog.key == key)).first() is not None:
        log.info("ACK-SKIP case=%s kind=%s: already acknowledged today", case.number, kind)
        return
    db.add(ReminderLog(key=key, sent_on=rt.today()))
    subject, body = rt.templates.render("unit_ack", programme=rt.ruleset.programme, case=case,
                                        unit=unit, kind=kind, kind_cn=KIND_CN[kind],
                                        reviewed=rt.ruleset.programme.result_review != answers.DIRECT)
    queue(db, Draft(purpose="ack", to=[msg.from_addr], subject=subject, body=body,
                    case_number=case.number, in_reply_to=msg.message_id,
                    references=msg.references), rt.sender, rt.now())
