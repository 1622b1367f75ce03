"""Data for the public progress export and the leaders' report (the documents layer renders it)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

from sqlmodel import Session, select

from bot.context import Runtime
from bot.documents.rows import CommonIssue, PublicRow, ReportData, UnitOnTime
from bot.followup.status import STATUS_CN
from bot.followup.views import overdue_items
from bot.store.models import Assignment, Case, UnitReport
from bot.store.states import CaseStatus, ReportKind, Role

PUBLIC_STATUSES = (CaseStatus.ACCEPTED, CaseStatus.DEFERRED, CaseStatus.RESOLVED_ON_SITE,
                   CaseStatus.EXPLAINED, CaseStatus.ASSIGNED, CaseStatus.RESULT_RECEIVED,
                   CaseStatus.CLOSED, CaseStatus.REOPENED)
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
    assignments = [a for a in db.exec(select(Assignment)) if a.case_id in ids]
    field_name = lambda fid: rules.field_by_id(fid).name if fid and rules.field_by_id(fid) else "未分类"  # noqa: E731
    unit_name = lambda uid: rules.unit_by_id(uid).name if rules.unit_by_id(uid) else uid  # noqa: E731
    satisfaction = Counter(c.satisfaction or "未答复" for c in cases
                           if c.status in (CaseStatus.RESULT_RECEIVED, CaseStatus.CLOSED, CaseStatus.REOPENED))
    return ReportData(
        period_from=start, period_to=end,
        by_field=dict(Counter(field_name(c.field_id) for c in cases).most_common()),
        by_unit=dict(Counter(unit_name(a.unit_id) for a in assignments if a.role == Role.LEAD).most_common()),
        by_status=dict(Counter(STATUS_CN.get(c.status, c.status) for c in registered).most_common()),
        on_time=tuple(_on_time(db, rt, assignments, unit_name, end)),
        overdue=tuple(o for o in overdue_items(db, rt, min(end, rt.today()))
                      if o.case_number in {c.number for c in cases}),
        satisfaction=dict(satisfaction), common_issues=tuple(common_issues(rt, cases)),
        office=rules.programme.office, generated=rt.today())


def _on_time(db: Session, rt: Runtime, assignments, unit_name, end: date):
    """Per lead unit: status and result reports that fell due by `end`, and how many came in time."""
    due, in_time = Counter(), Counter()
    for a in (a for a in assignments if a.role == Role.LEAD):
        reports = list(db.exec(select(UnitReport).where(UnitReport.assignment_id == a.id)))
        for kind, deadline in ((ReportKind.STATUS, a.status_due), (ReportKind.RESULT, a.result_due)):
            if deadline > end:
                continue
            name = unit_name(a.unit_id)
            due[name] += 1
            if any(r.kind == kind and r.received <= deadline for r in reports):
                in_time[name] += 1
    return [UnitOnTime(u, due[u], in_time[u]) for u in sorted(due)]


def common_issues(rt: Runtime, cases: list[Case]) -> list[CommonIssue]:
    """Fields and keywords raised by three or more different enterprises (共性问题)."""
    import json

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
