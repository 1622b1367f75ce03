"""The enterprise's answer to the result: 满意 / 基本满意 / 不满意 (不满意 reopens the case)."""

from __future__ import annotations

from sqlmodel import Session

from bot.cases import add_event
from bot.context import Runtime
from bot.followup.incoming import Followup
from bot.followup.notify import notify_admin
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.store.models import Case
from bot.store.states import CaseStatus

# Longest first: 不满意 and 基本满意 both contain 满意.
LEVELS = ("不满意", "基本满意", "满意")


def read_answer(text: str) -> str | None:
    fresh = fresh_text(text)
    positions = [(fresh.find(level), -len(level), level) for level in LEVELS if level in fresh]
    return min(positions)[2] if positions else None


def record_answer(db: Session, rt: Runtime, msg: InboundMessage, case: Case) -> Followup | None:
    answer = read_answer(msg.text_body) or read_answer(msg.subject or "")
    if answer is None:
        return None
    now = rt.now()
    case.satisfaction, case.updated_at = answer, now
    if answer == "不满意":
        case.status = CaseStatus.REOPENED
        notify_admin(db, rt, "admin_unsatisfied", case=case, text=fresh_text(msg.text_body))
    else:
        case.status, case.closed_on = CaseStatus.CLOSED, rt.today()
    db.add(case)
    add_event(db, case, now, "satisfaction", answer)
    return Followup("satisfaction", case.number, answer)
