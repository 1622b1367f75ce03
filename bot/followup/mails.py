"""The mails of the follow-up: slips to units, notices to the enterprise, acknowledgements."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.documents.rows import SlipData
from bot.intake.replies import DOCX
from bot.outbox.compose import Draft, OutgoingAttachment
from bot.outbox.queue import queue
from bot.rules.model import Unit
from bot.rules.texts import cite_plan, leader_words
from bot.store.models import Case, Outbox
from bot.store.states import Role


def render_slip_bytes(rt: Runtime, slip: SlipData) -> bytes:
    # python-docx and docxtpl load with the first slip, not with every intake command
    from bot.documents.slip import render_slip  # start-up: see above

    template = rt.templates.path.find("docs/slip.docx")  # the admin's, else the shipped one
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "slip.docx"
        render_slip(slip, out, template)
        return out.read_bytes()


def slip_drafts(rt: Runtime, case: Case, req, slip: SlipData) -> list[Draft]:
    rules = rt.ruleset
    attachment = OutgoingAttachment(f"企业诉求交办单-{case.number}.docx",
                                    render_slip_bytes(rt, slip), DOCX)
    drafts = []
    for role, unit_id in [(Role.LEAD, req.lead), *[(Role.CO, u) for u in req.co]]:
        unit = rules.unit_by_id(unit_id)
        subject, body = rt.templates.render(
            "unit_slip", programme=rules.programme, unit=unit, role=role, slip=slip,
            case=case, cn_date=cn_date)
        drafts.append(Draft(purpose="slip", to=list(unit.emails), subject=subject, body=body,
                            case_number=case.number, attachments=[attachment],
                            auto_submitted="auto-generated"))
    return drafts


def enterprise_assigned_draft(rt: Runtime, case: Case, req, status_due: date,
                              result_due: date) -> Draft | None:
    rules = rt.ruleset
    session = rules.session_by_id(case.session_id) if case.session_id else None
    return enterprise_draft(rt, case, "enterprise_assigned", "notice-assigned",
                            lead=rules.unit_by_id(req.lead), co=[rules.unit_by_id(u) for u in req.co],
                            status_due=status_due, result_due=result_due, long_term=req.long_term,
                            long_term_days=rules.deadlines.long_term_report_days,
                            leader=leader_words(rules, session))


def enterprise_draft(rt: Runtime, case: Case, template: str, purpose: str, **values) -> Draft | None:
    """A mail to the enterprise about its case, threaded to what it was sent before; None when the
    case has no address (a registration taken by phone without an email)."""
    address = case.contact_email or case.sender
    if not address:
        return None
    rules = rt.ruleset
    subject, body = rt.templates.render(template, programme=rules.programme, case=case,
                                        cn_date=cn_date, **values)
    return Draft(purpose=purpose, to=[address], subject=subject,
                 body=cite_plan(body, rules.programme.plan_title), case_number=case.number,
                 in_reply_to=case.last_outbound_id,
                 references=[case.thread_root] if case.thread_root else [],
                 auto_submitted="auto-generated")


def queue_to_enterprise(db: Session, rt: Runtime, case: Case, template: str, purpose: str,
                        **values) -> Outbox | None:
    """Queue `enterprise_draft` in the caller's transaction; later mail threads below it."""
    draft = enterprise_draft(rt, case, template, purpose, **values)
    if draft is None:
        return None
    out = queue(db, draft, rt.sender, rt.now())
    if out is not None:
        case.last_outbound_id = out.message_id
        db.add(case)
    return out


def unit_draft(rt: Runtime, unit: Unit, case: Case, template: str, purpose: str, **values) -> Draft:
    """A mail to a unit about a case (the unit's addresses; the case tag ties its reply)."""
    subject, body = rt.templates.render(template, programme=rt.ruleset.programme, case=case,
                                        unit=unit, cn_date=cn_date, **values)
    return Draft(purpose=purpose, to=list(unit.emails), subject=subject, body=body,
                 case_number=case.number, auto_submitted="auto-generated")
