"""Deferred demands are looked at again when the sessions change: an enterprise held "until a
session exists" is told as soon as one is scheduled for its field."""

from __future__ import annotations

import json
import logging

from sqlmodel import Session, select

from bot.cases import add_event, seats_used
from bot.context import Runtime
from bot.forms.model import Form
from bot.outbox.compose import Draft
from bot.outbox.queue import queue
from bot.rules import texts
from bot.rules.matching import match_session
from bot.store.models import Case
from bot.store.states import CaseStatus
from bot.verdict import Decision, Rule

log = logging.getLogger(__name__)


def reevaluate_deferred(rt: Runtime) -> int:
    """Re-match every deferred case; returns how many got a new session (each is told once)."""
    rules, today, moved = rt.ruleset, rt.today(), 0
    with Session(rt.engine) as db:
        for case in list(db.exec(select(Case).where(Case.status == CaseStatus.DEFERRED))):
            if not case.field_id or rules.field_by_id(case.field_id) is None:
                continue
            match = match_session(case.field_id, rules, today,
                                  lambda sid: seats_used(db, sid, exclude_case=case.id))
            new_session = match.session.id if match.session else None
            if new_session == case.session_id and match.rule != Rule.MATCH_CURRENT:
                continue  # same plan as told before; a session whose window opened confirms it
            _reschedule(db, rt, case, match)
            moved += 1
        db.commit()
    if moved:
        log.info("REEVALUATED deferred cases moved=%d", moved)
    return moved


def _reschedule(db: Session, rt: Runtime, case: Case, match) -> None:
    rules, now = rt.ruleset, rt.now()
    accepted = match.rule == Rule.MATCH_CURRENT
    case.session_id = match.session.id if match.session else None
    case.status = case.decision = Decision.ACCEPTED if accepted else Decision.DEFERRED
    case.rules, case.updated_at = match.rule, now
    db.add(case)
    add_event(db, case, now, "rescheduled", f"{match.rule} {case.session_id or '-'}")
    if match.session is None or not (case.contact_email or case.sender):
        return
    field = rules.field_by_id(case.field_id)
    reason = texts.match(match.rule, match.session, field, rules, rt.today())
    subject, body = rt.templates.render(
        "reply_rescheduled", programme=rules.programme, case=case, session=match.session,
        session_words=texts.session_words(match.session),
        leader_title=texts.leader_words(rules, match.session),
        reason=reason, accepted=accepted, form=Form.from_json(json.loads(case.form_json or "{}")))
    out = queue(db, Draft(purpose="reply-rescheduled", to=[case.contact_email or case.sender],
                          subject=subject, body=body, case_number=case.number,
                          in_reply_to=case.last_outbound_id,
                          references=[case.thread_root] if case.thread_root else [],
                          auto_submitted="auto-generated"), rt.sender, now)
    if out is not None:
        case.last_outbound_id = out.message_id
