"""The mails of the follow-up: slips to units, notices to the enterprise, acknowledgements."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from bot.context import Runtime
from bot.documents.cn import cn_date
from bot.documents.rows import SlipData
from bot.documents.slip import render_slip
from bot.intake.replies import DOCX
from bot.outbox.compose import Draft, OutgoingAttachment
from bot.store.models import Case
from bot.store.states import Role


def render_slip_bytes(rt: Runtime, slip: SlipData) -> bytes:
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
            case=case, cn_date=cn_date, long_term_days=rules.deadlines.long_term_report_days)
        drafts.append(Draft(purpose="slip", to=list(unit.emails), subject=subject, body=body,
                            case_number=case.number, attachments=[attachment],
                            auto_submitted="auto-generated"))
    return drafts


def enterprise_assigned_draft(rt: Runtime, case: Case, req, status_due: date,
                              result_due: date) -> Draft | None:
    address = case.contact_email or case.sender
    if not address:
        return None
    rules = rt.ruleset
    subject, body = rt.templates.render(
        "enterprise_assigned", programme=rules.programme, case=case,
        lead=rules.unit_by_id(req.lead), co=[rules.unit_by_id(u) for u in req.co],
        result_due=result_due, cn_date=cn_date)
    return Draft(purpose="notice-assigned", to=[address], subject=subject, body=body,
                 case_number=case.number, in_reply_to=case.last_outbound_id,
                 references=[case.thread_root] if case.thread_root else [],
                 auto_submitted="auto-generated")
