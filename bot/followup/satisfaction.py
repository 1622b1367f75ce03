"""The enterprise's answer to the result: 满意 / 基本满意 / 不满意 (不满意 reopens the case)."""

from __future__ import annotations

from sqlmodel import Session

from bot.calendar import WorkCalendar
from bot.cases import add_event
from bot.context import Runtime
from bot.followup.incoming import Followup
from bot.followup.mails import queue_to_enterprise
from bot.followup.notify import notify_admin
from bot.message.model import InboundMessage
from bot.message.quote import fresh_text
from bot.store.models import Case
from bot.store.states import CaseStatus

ON_SITE = (CaseStatus.RESOLVED_ON_SITE, CaseStatus.EXPLAINED)
# Longest first: 不满意 and 基本满意 both contain 满意.
LEVELS = ("不满意", "基本满意", "满意")


def read_answer(text: str) -> str | None:
    fresh = fresh_text(text)
    positions = [(fresh.find(level), -len(level), level) for level in LEVELS if level in fresh]
    return min(positions)[2] if positions else None


def awaits_rating(case: Case) -> bool:
    """The enterprise was asked for its 满意度: after the office's answer, or after a case closed at
    the meeting (当场解决 / 解释说明) that it has not rated yet."""
    if case.status == CaseStatus.RESULT_RECEIVED:
        return True
    return case.status in ON_SITE and not case.satisfaction


def record_answer(db: Session, rt: Runtime, msg: InboundMessage, case: Case) -> Followup | None:
    answer = read_answer(msg.text_body) or read_answer(msg.subject or "")
    if answer is None:
        return None
    now, today = rt.now(), rt.today()
    case.satisfaction, case.updated_at = answer, now
    cal = WorkCalendar.from_ruleset(rt.ruleset)
    # 不满意: the office looks at it again, within the time a unit has for its 落实情况.
    again_by = cal.add_working_days(today, rt.ruleset.deadlines.status_report_working_days)
    if answer == "不满意":
        case.status = CaseStatus.REOPENED
        notify_admin(db, rt, "admin_unsatisfied", case=case, text=fresh_text(msg.text_body), again_by=again_by)
    elif case.status == CaseStatus.RESULT_RECEIVED:
        case.status, case.closed_on = CaseStatus.CLOSED, today
    db.add(case)
    add_event(db, case, now, "satisfaction", answer)
    queue_to_enterprise(db, rt, case, "enterprise_thanks", "satisfaction-thanks", level=answer,
                        again_by=again_by)
    return Followup("satisfaction", case.number, answer)
