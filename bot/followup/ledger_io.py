"""The demand ledger round trip: cases -> LedgerRow -> .xlsx, and the clerk's edits back in."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, select

from bot.context import Runtime
from bot.documents.ledger import import_ledger
from bot.documents.rows import LedgerImportResult, LedgerRow
from bot.errors import CaseError
from bot.followup.assign import AssignRequest, assign, resolve
from bot.followup.status import DECISION_CN, STATUS_CN
from bot.store.models import Assignment, Case, UnitReport
from bot.store.states import Role


def ledger_rows(db: Session, rt: Runtime, batch: int = 1000) -> Iterator[LedgerRow]:
    """Cases in number order, read in batches so that 10,000 rows stay in bounded memory."""
    last = 0
    while True:
        cases = list(db.exec(select(Case).where(Case.id > last).order_by(Case.id).limit(batch)))
        if not cases:
            return
        assignments, latest = _followup_of(db, [c.id for c in cases])
        for case in cases:
            yield _row(rt, case, assignments.get(case.id, []), latest.get(case.id, ""))
        last = cases[-1].id


def _followup_of(db: Session, case_ids: list[int]):
    assignments: dict[int, list[Assignment]] = defaultdict(list)
    for a in db.exec(select(Assignment).where(Assignment.case_id.in_(case_ids))
                     .order_by(Assignment.id)):
        assignments[a.case_id].append(a)
    by_assignment = {a.id: a.case_id for rows in assignments.values() for a in rows}
    latest: dict[int, str] = {}
    if by_assignment:
        for r in db.exec(select(UnitReport).where(UnitReport.assignment_id.in_(list(by_assignment)))
                         .order_by(UnitReport.id)):
            latest[by_assignment[r.assignment_id]] = f"{r.received} {r.summary[:200]}"
    return assignments, latest


def _row(rt: Runtime, case: Case, assignments: list[Assignment], latest: str) -> LedgerRow:
    rules = rt.ruleset
    form = json.loads(case.form_json or "{}")
    session = rules.session_by_id(case.session_id) if case.session_id else None
    leader = rules.leader_by_id(session.leader) if session else None
    field_rule = rules.field_by_id(case.field_id) if case.field_id else None
    lead = next((a for a in assignments if a.role == Role.LEAD and not a.closed), None) or \
        next((a for a in assignments if a.role == Role.LEAD), None)
    name = lambda uid: (rules.unit_by_id(uid).name if rules.unit_by_id(uid) else uid)  # noqa: E731
    content = "\n".join(p for p in (form.get("facts"), form.get("requests") and
                                    f"请求：{form.get('requests')}") if p)
    return LedgerRow(
        case_number=case.number, accepted=case.accepted_on or rt.clock.aware(case.created_at).date(),
        channel=case.channel, enterprise_name=case.enterprise_name,
        credit_code=case.credit_code, district=case.district,
        enterprise_types=tuple(form.get("enterprise_types") or ()),
        contact_name=case.contact_name, contact_phone=case.contact_phone,
        field_name=field_rule.name if field_rule else (form.get("field") or ""),
        title=form.get("title") or "", content=content,
        suggested_departments=tuple(_suggested(rt, case, form)),
        decision=DECISION_CN.get(case.decision, case.decision),
        rules=tuple(r for r in case.rules.split(",") if r),
        session=session.id if session else "", leader=leader.title if leader else "",
        outcome=case.outcome or None, lead_unit=name(lead.unit_id) if lead else None,
        co_units=tuple(name(a.unit_id) for a in assignments if a.role == Role.CO and not a.closed),
        requirements=case.requirements or "", assigned=lead.assigned if lead else None,
        status_due=lead.status_due if lead else None, result_due=lead.result_due if lead else None,
        long_term=bool(lead and lead.long_term), latest_progress=latest,
        status=STATUS_CN.get(case.status, case.status), closed=case.closed_on,
        follow_up=case.revisit or "", satisfaction=case.satisfaction or "")


def _suggested(rt: Runtime, case: Case, form: dict) -> list[str]:
    """What the enterprise suggested, plus the departments of the matched field."""
    names = list(form.get("suggested_departments") or [])
    field_rule = rt.ruleset.field_by_id(case.field_id) if case.field_id else None
    for uid in field_rule.departments if field_rule else ():
        unit = rt.ruleset.unit_by_id(uid)
        if unit and unit.name not in names:
            names.append(unit.name)
    return names


def apply_import(db: Session, rt: Runtime, result: LedgerImportResult) -> list[str]:
    """Apply the edits in the caller's transaction; returns one summary line per change.
    Raises CaseError (the caller rolls back) when an edit is not allowed for the case's state."""
    changes = []
    for edit in result.edits:
        try:
            changes += _apply_edit(db, rt, edit)
        except CaseError as exc:
            result.problems.append(f"第{edit.row}行：{exc}")
    return changes


def _apply_edit(db: Session, rt: Runtime, edit) -> list[str]:
    if edit.outcome is None:
        return []
    if edit.outcome == "交办":
        req = AssignRequest(edit.case_number, edit.lead_unit, tuple(edit.co_units),
                            edit.long_term, edit.requirements)
        if assign(db, rt, req):
            co = f"，协办：{'、'.join(edit.co_units)}" if edit.co_units else ""
            return [f"{edit.case_number}：交办 {edit.lead_unit}{co}，已发送交办单"]
        return []
    how = "on_site" if edit.outcome == "当场解决" else "explained"
    if resolve(db, rt, edit.case_number, how, edit.requirements):
        return [f"{edit.case_number}：{edit.outcome}"]
    return []


def import_file(rt: Runtime, path: Path) -> tuple[bool, str]:
    """The whole import in one transaction; refused as a whole when any row has a problem."""
    def unit_by_name(name: str) -> str | None:
        unit = rt.ruleset.unit_by_name(name)
        return unit.id if unit else None

    result = import_ledger(path, unit_by_name=unit_by_name)
    with Session(rt.engine) as db:
        changes = [] if result.problems else apply_import(db, rt, result)
        ok = not result.problems
        if ok:
            db.commit()
        else:
            db.rollback()
    return ok, summary_text(result, changes, ok)


def summary_text(result: LedgerImportResult, changes: list[str], ok: bool) -> str:
    lines = ["台账导入完成。" if ok else "台账导入未执行：存在以下问题，请更正后重新导入（本次未做任何修改）。"]
    lines += [f"  问题：{p}" for p in result.problems]
    if ok:
        lines.append(f"  变更 {len(changes)} 项：" if changes else "  没有需要变更的内容（重复导入不会重复发送）。")
        lines += [f"    {c}" for c in changes]
    lines += [f"  已忽略（系统维护的列不接受修改）：{i}" for i in result.ignored]
    lines += [f"  提示：{n}" for n in result.notes]
    return "\n".join(lines)
