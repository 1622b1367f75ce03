"""Mail to the admin from follow-up events."""

from __future__ import annotations

from bot.outbox.compose import Draft
from bot.context import Runtime


def admin_draft(rt: Runtime, template: str, **values) -> Draft | None:
    if not rt.admin_emails:
        return None
    subject, body = rt.templates.render(template, programme=rt.ruleset.programme, **values)
    case = values.get("case")
    return Draft(purpose="admin", to=rt.admin_emails, subject=subject, body=body,
                 case_number=case.number if case is not None else "",
                 auto_submitted="auto-generated")
