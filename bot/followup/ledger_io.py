"""The demand ledger round trip: cases -> LedgerRow -> .xlsx, and the clerk's edits back in."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, select

from bot.cases import add_event, find_case
from bot.context import Runtime
from bot.documents import ledger
from bot.documents.cn import cn_date
from bot.documents.rows import LedgerEdit, LedgerImportResult, LedgerRow
from bot.errors import CaseError
from bot.followup.assign import AssignRequest, assign, resolve
from bot.followup.mails import queue_to_enterprise
from bot.followup.status import DECISION_CN, RULE_CN, STATUS_CN
from bot.rules.texts import leader_words, session_label, session_words
from bot.store.models import Assignment, Case, UnitReport
from bot.store.states import CaseStatus, Role
from bot.verdict import Decision


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
            latest[by_assignment[r.assignment_id]] = f"{cn_date(r.received)}　{r.summary[:200]}"
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
        session=session_label(session), leader=leader.full_title if leader else "",
        outcome=case.outcome or None, lead_unit=name(lead.unit_id) if lead else None,
        co_units=tuple(name(a.unit_id) for a in assignments if a.role == Role.CO and not a.closed),
        requirements=case.requirements or "", assigned=lead.assigned if lead else None,
        status_due=lead.status_due if lead else None, result_due=lead.result_due if lead else None,
        long_term=bool(lead and lead.long_term), latest_progress=latest,
        status=STATUS_CN.get(case.status, case.status), closed=case.closed_on,
        follow_up=case.revisit or "", satisfaction=case.satisfaction or "")


def _suggested(rt: Runtime, case: Case, form: dict) -> list[str]:
    """What the enterprise suggested, plus the departments of the matched field: each unit once,
    by its registered name when the enterprise's wording names a known unit (市发改委 and
    乌海市发展和改革委员会 are one)."""
    names: list[str] = []
    field_rule = rt.ruleset.field_by_id(case.field_id) if case.field_id else None
    field_units = [rt.ruleset.unit_by_id(uid) for uid in (field_rule.departments if field_rule else ())]
    for written in form.get("suggested_departments") or []:
        unit = unit_named(rt, written)
        name = unit.name if unit else written
        if name not in names:
            names.append(name)
    for unit in field_units:
        if unit and unit.name not in names:
            names.append(unit.name)
    return names


def unit_named(rt: Runtime, written: str):
    """The unit an enterprise means by `written`: its exact name or id, or the name without the
    city (市发展和改革委员会 for 乌海市发展和改革委员会)."""
    unit = rt.ruleset.unit_by_name(written)
    if unit is not None:
        return unit
    key = _bare(written, rt.ruleset.programme.city)
    return next((u for u in rt.ruleset.units if key and _bare(u.name, rt.ruleset.programme.city) == key), None)


def _bare(name: str, city: str) -> str:
    name = name.strip()
    for prefix in (city, city.removesuffix("市"), "市"):
        if prefix and name.startswith(prefix):
            name = name[len(prefix):]
    return name


def apply_import(db: Session, rt: Runtime, result: LedgerImportResult) -> list[str]:
    """Apply the edits in the caller's transaction; returns one summary line per change.
    An edit not allowed for the case's state becomes a problem of its row (the caller refuses
    the whole import when there is any)."""
    changes = []
    for edit in result.edits:
        try:
            changes += _apply_edit(db, rt, edit)
        except CaseError as exc:
            result.problems.append(f"第{edit.row}行：{exc}")
    return changes


def _apply_edit(db: Session, rt: Runtime, edit: LedgerEdit) -> list[str]:
    case = find_case(db, edit.case_number)
    changes = []
    if edit.session is not None and edit.session != case.session_id:
        changes.append(move_to_session(db, rt, case, edit.session))
    if edit.revisit is not None and edit.revisit != (case.revisit or ""):
        case.revisit = edit.revisit
        db.add(case)
        add_event(db, case, rt.now(), "revisit", edit.revisit)
        changes.append(f"{case.number}：已记录回访情况")
    if edit.outcome is None:
        return changes
    check_outcome(rt, case)
    rules = rt.ruleset
    if edit.outcome == "交办":
        req = AssignRequest(edit.case_number, edit.lead_unit, tuple(edit.co_units),
                            edit.long_term, edit.requirements)
        if assign(db, rt, req):
            name = lambda uid: rules.unit_by_id(uid).name  # noqa: E731
            co = f"，协办单位{'、'.join(name(u) for u in edit.co_units)}" if edit.co_units else ""
            changes.append(f"{edit.case_number}：交{name(edit.lead_unit)}承办{co}，已发送交办单")
        return changes
    how = "on_site" if edit.outcome == "当场解决" else "explained"
    if resolve(db, rt, edit.case_number, how, edit.requirements):
        changes.append(f"{edit.case_number}：登记为{edit.outcome}，已告知企业")
    return changes


def check_outcome(rt: Runtime, case: Case) -> None:
    """A 现场结果 belongs to a case accepted for a session that has taken place."""
    session = rt.ruleset.session_by_id(case.session_id) if case.session_id else None
    if case.decision != Decision.ACCEPTED or session is None:
        rule = "、".join(RULE_CN.get(r, r) for r in case.rules.split(",") if r)
        decision = DECISION_CN.get(case.decision, case.decision) + (f"（{rule}）" if rule else "")
        raise CaseError(f"编号{case.number}的处理结论为“{decision}”，没有安排在接待场次，不能登记现场结果；"
                        "如该企业确已参加接待，请在本行“接待场次”中选择所参加的场次")
    if session.date > rt.today():
        raise CaseError(f"编号{case.number}安排在{session_label(session)}接待，该场次尚未举行，不能登记现场结果")


def move_to_session(db: Session, rt: Runtime, case: Case, session_id: str) -> str:
    """The clerk put the case into a session: it is accepted for it, and the enterprise is told."""
    session = rt.ruleset.session_by_id(session_id)
    now, old = rt.now(), case.session_id
    case.session_id, case.decision = session_id, Decision.ACCEPTED
    if case.status in (CaseStatus.ACCEPTED, CaseStatus.DEFERRED):
        case.status = CaseStatus.ACCEPTED
        case.accepted_on = case.accepted_on or rt.today()
    case.updated_at = now
    db.add(case)
    add_event(db, case, now, "moved-session", f"{old or '-'} -> {session_id}")
    queue_to_enterprise(db, rt, case, "enterprise_moved", "notice-moved", session=session,
                        session_words=session_words(session), leader=leader_words(rt.ruleset, session),
                        held=session.date <= rt.today())
    return f"{case.number}：列入{session_label(session)}接待场次，已告知企业"


def import_file(rt: Runtime, path: Path) -> tuple[bool, str]:
    """The whole import in one transaction; refused as a whole when any row has a problem."""
    def unit_by_name(name: str) -> str | None:
        unit = rt.ruleset.unit_by_name(name)
        return unit.id if unit else None

    result = ledger.import_ledger(path, unit_by_name=unit_by_name,
                                  session_by_label=lambda label: session_by_label(rt, label))
    with Session(rt.engine) as db:
        changes = [] if result.problems else apply_import(db, rt, result)
        ok = not result.problems
        if ok:
            db.commit()
        else:
            db.rollback()
    return ok, summary_text(result, changes, ok)


def session_by_label(rt: Runtime, label: str) -> str | None:
    """接待场次 as the ledger shows it (2026年12月22日上午), or a session id."""
    label = label.strip()
    return next((s.id for s in rt.ruleset.sessions if label in (s.id, session_label(s))), None)


def session_labels(rt: Runtime) -> list[str]:
    return [session_label(s) for s in rt.ruleset.sessions]


def summary_text(result: LedgerImportResult, changes: list[str], ok: bool) -> str:
    lines = ["台账导入完成。" if ok else "台账导入未执行：存在以下问题，请更正后重新导入（本次未做任何修改）。"]
    lines += [f"  问题：{p}" for p in result.problems]
    if ok:
        lines.append(f"  共变更{len(changes)}项：" if changes else "  没有需要变更的内容（重复导入不会重复发送）。")
        lines += [f"    {c}" for c in changes]
    lines += [f"  已忽略（系统维护的列不接受修改）：{i}" for i in result.ignored]
    lines += [f"  提示：{n}" for n in result.notes]
    return "\n".join(lines)


def export_file(db: Session, rt: Runtime, out: Path, progress=lambda rows: rows) -> int:
    """The ledger of every case, with the units and sessions for its dropdowns (`progress` wraps
    the rows, for a progress bar)."""
    return ledger.export_ledger(progress(ledger_rows(db, rt)), out,
                                unit_names=[u.name for u in rt.ruleset.units],
                                session_labels=session_labels(rt), author=rt.ruleset.programme.office)
