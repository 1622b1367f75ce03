"""Data for the public progress export and the leaders' report (the documents layer renders it)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date

from sqlmodel import Session, select

from bot.calendar import WorkCalendar
from bot.context import Runtime
from bot.documents.rows import CommonIssue, LateItem, PublicRow, ReportData, UnitOnTime
from bot.followup.reminders.due import ESCALATION, due_history
from bot.followup.reminders.queue import all_lead_assignments
from bot.followup.status import STATUS_CN
from bot.store.models import Assignment, Case, ReminderLog
from bot.store.states import CaseStatus, Role

PUBLIC_STATUSES = (CaseStatus.ACCEPTED, CaseStatus.DEFERRED, CaseStatus.RESOLVED_ON_SITE,
                   CaseStatus.EXPLAINED, CaseStatus.ASSIGNED, CaseStatus.ANSWER_PENDING,
                   CaseStatus.RESULT_RECEIVED, CaseStatus.CLOSED, CaseStatus.REOPENED)
# Cases whose enterprise was asked for its 满意度 (the report counts the answers and the silences).
RATED = (CaseStatus.RESULT_RECEIVED, CaseStatus.CLOSED, CaseStatus.REOPENED, CaseStatus.RESOLVED_ON_SITE,
         CaseStatus.EXPLAINED)
COMMON_THRESHOLD = 3


def public_rows(db: Session, rt: Runtime) -> list[PublicRow]:
    """Case number, field, lead unit, status and dates only: nothing that names a person or firm."""
    rules = rt.ruleset
    leads = {a.case_id: a for a in db.exec(select(Assignment).where(Assignment.role == Role.LEAD))}
    rows = []
    for case in db.exec(select(Case).where(Case.status.in_(PUBLIC_STATUSES)).order_by(Case.id)):
        lead = leads.get(case.id)
        field = rules.field_by_id(case.field_id) if case.field_id else None
        unit = rules.unit_by_id(lead.unit_id) if lead else None
        rows.append(PublicRow(case_number=case.number, field_name=field.name if field else "",
                              lead_unit=unit.name if unit else "",
                              status=STATUS_CN.get(case.status, case.status),
                              accepted=case.accepted_on, assigned=lead.assigned if lead else None,
                              result_due=lead.result_due if lead else None,
                              closed=case.closed_on))
    return rows


def report_data(db: Session, rt: Runtime, start: date, end: date) -> ReportData:
    rules = rt.ruleset
    registered = [c for c in db.exec(select(Case))
                  if start <= (c.accepted_on or rt.clock.aware(c.created_at).date()) <= end]
    # 受理 counts only demands taken on; rejected, referred and uncorrected ones show in by_status.
    cases = [c for c in registered if c.status in PUBLIC_STATUSES]
    ids = {c.id for c in cases}
    leads = [a for a in db.exec(select(Assignment).where(Assignment.role == Role.LEAD)) if a.case_id in ids]
    satisfaction = Counter(c.satisfaction or "未答复" for c in cases if c.status in RATED)
    on_time, late = due_items_of_period(db, rt, start, end)
    return ReportData(
        period_from=start, period_to=end, registered=len(registered),
        by_field=dict(Counter(_field_name(rules, c.field_id) for c in cases).most_common()),
        by_unit=dict(Counter(_unit_name(rules, a.unit_id) for a in _latest(leads)).most_common()),
        by_status=dict(Counter(STATUS_CN.get(c.status, c.status) for c in registered).most_common()),
        on_time=on_time, late=late, satisfaction=dict(satisfaction),
        common_issues=tuple(common_issues(rt, cases)), office=rules.programme.office, generated=rt.today())


def due_items_of_period(db: Session, rt: Runtime, start: date,
                        end: date) -> tuple[tuple[UnitOnTime, ...], tuple[LateItem, ...]]:
    """Every 落实情况, 办理结果 and 十日一报 due in [start, end] (of any case), per lead unit: how
    many came in time; and the late ones (reported late, or missing on the last day considered)
    with their escalation. Items not yet due on that day are not counted."""
    rules, cal = rt.ruleset, WorkCalendar.from_ruleset(rt.ruleset)
    cutoff = min(end, rt.today())
    escalated = _escalations(db)
    due, in_time, late = Counter(), Counter(), []
    for a in all_lead_assignments(db, rt):
        unit = _unit_name(rules, a.unit)
        for record in due_history(a, rules.deadlines, cal, cutoff):
            if not start <= record.due <= end or (record.settled is None and record.due >= cutoff):
                continue
            due[unit] += 1
            if record.settled is not None and record.settled <= record.due:
                in_time[unit] += 1
                continue
            days = ((record.settled or cutoff) - record.due).days
            late.append(LateItem(a.case, unit, record.kind, record.due, record.settled, days,
                                 escalated.get((a.case, a.unit, record.kind, record.due))))
    return tuple(UnitOnTime(u, due[u], in_time[u]) for u in sorted(due)), tuple(late)


def _escalations(db: Session) -> dict[tuple, date]:
    """(case, unit, kind, due) -> the day its escalation was sent, from the reminder log."""
    found = {}
    for row in db.exec(select(ReminderLog).where(ReminderLog.key.endswith(f"|{ESCALATION}"))):
        case, unit, kind, due, _stage = row.key.split("|")
        found[(case, unit, kind, date.fromisoformat(due))] = row.sent_on
    return found


def _latest(leads: list[Assignment]) -> list[Assignment]:
    """One lead per case (a reassigned case keeps its earlier lead's closed row)."""
    by_case = {}
    for a in sorted(leads, key=lambda a: a.id):
        by_case[a.case_id] = a
    return list(by_case.values())


def _field_name(rules, field_id: str | None) -> str:
    field = rules.field_by_id(field_id) if field_id else None
    return field.name if field else "未分类"


def _unit_name(rules, unit_id: str) -> str:
    unit = rules.unit_by_id(unit_id)
    return unit.name if unit else unit_id


def common_issues(rt: Runtime, cases: list[Case]) -> list[CommonIssue]:
    """Fields and keywords raised by three or more different enterprises (共性问题)."""
    by_topic: dict[str, dict[str, str]] = defaultdict(dict)
    for case in cases:
        who = case.credit_code or case.enterprise_name
        if not who:
            continue
        form = json.loads(case.form_json or "{}")
        text = " ".join(filter(None, (form.get("title"), form.get("facts"), form.get("requests"))))
        field = rt.ruleset.field_by_id(case.field_id) if case.field_id else None
        if field:
            by_topic[field.name].setdefault(who, case.number)
        for rule in rt.ruleset.fields:
            for word in rule.keywords:
                if word and re.search(re.escape(word), text):
                    by_topic[word].setdefault(who, case.number)
    issues = [CommonIssue(topic, len(who), tuple(sorted(who.values())))
              for topic, who in by_topic.items() if len(who) >= COMMON_THRESHOLD]
    return sorted(issues, key=lambda i: (-i.enterprises, i.topic))
