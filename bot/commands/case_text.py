"""The human output of the case commands, in Chinese with unit names and Chinese dates (the
`--json` output keeps the ids and ISO dates of spec/interfaces.md)."""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.documents.cn import cn_date
from bot.followup.reminders.due import Reminder
from bot.followup.status import (
    ANSWER_CN,
    KIND_CN,
    ROLE_CN,
    RULE_CN,
    STAGE_CN,
    STATUS_CN,
)
from bot.rules.model import Ruleset
from bot.rules.texts import session_label
from bot.verdict import Decision

DECISION_WORDS = {Decision.ACCEPTED: "当期安排", Decision.DEFERRED: "择期安排",
                  Decision.NEEDS_CORRECTION: "需要补正", Decision.REFERRED: "转属地或部门受理",
                  Decision.REJECTED: "不予受理", Decision.IGNORED: "不予回复"}
EVENTS = {
    "accepted": "受理", "deferred": "择期安排", "needs_correction": "通知补正", "referred": "转办",
    "rejected": "不予受理", "updated": "更新登记表", "rescheduled": "调整接待场次", "assigned": "交办",
    "resolved_on_site": "当场解决", "explained": "解释说明", "extended": "延期",
    "extension-refused": "延期申请未获同意", "extension-not-applied": "延期未生效",
    "answer-drafted": "生成答复草稿", "answer-sent": "答复企业", "answer-held": "答复暂缓",
    "satisfaction": "满意度评价", "enterprise-note": "企业来信", "refused": "拒绝未经授权的报送",
    "moved-session": "改列接待场次", "revisit": "回访",
}


def unit_name(rules: Ruleset, unit_id: str | None) -> str:
    unit = rules.unit_by_id(unit_id) if unit_id else None
    return unit.name if unit else (unit_id or "")


def iso_to_cn(value: str | None) -> str:
    return cn_date(date.fromisoformat(value)) if value else ""


def case_lines(data: dict, rules: Ruleset) -> list[str]:
    """`case show` for a person: the case_json dict in words."""
    session = rules.session_by_id(data["session"]) if data.get("session") else None
    field = rules.field_by_id(data["field"]) if data.get("field") else None
    lines = [f"编号：{data['case']}",
             f"企业名称：{data['enterprise_name']}" + (f"（统一社会信用代码{data['credit_code']}）"
                                                  if data.get("credit_code") else ""),
             f"状态：{STATUS_CN.get(data['status'], data['status'])}",
             f"处理结论：{DECISION_WORDS.get(data.get('decision'), data.get('decision') or '')}"
             + (f"（{'；'.join(RULE_CN.get(r, r) for r in data.get('rules') or [])}）" if data.get("rules") else ""),
             f"接待场次：{session_label(session) or '未安排'}",
             f"诉求领域：{field.name if field else '未确定'}"]
    lines += _assignment_lines(data.get("assignments") or [], rules)
    answer = data.get("answer")
    if answer:
        lines.append(f"答复企业：{ANSWER_CN.get(answer['status'], answer['status'])}")
        lines += [f"　　{line}" for line in answer["text"].splitlines() if line.strip()]
    if data.get("satisfaction"):
        lines.append(f"满意度：{data['satisfaction']}")
    lines.append("办理记录：")
    lines += [f"　　{_when(e['at'])}　{_event(e, rules)}" for e in data.get("history") or []]
    return lines


def _assignment_lines(assignments: list[dict], rules: Ruleset) -> list[str]:
    if not assignments:
        return ["交办情况：尚未交办"]
    lines = ["交办情况："]
    for a in assignments:
        role = ROLE_CN.get(a["role"], a["role"])
        text = f"　　{role}：{unit_name(rules, a['unit'])}，{iso_to_cn(a['assigned'])}交办"
        if a["role"] == "lead":
            text += f"；落实情况时限{iso_to_cn(a['status_due'])}，办理结果时限{iso_to_cn(a['result_due'])}"
            if a.get("progress_due"):
                text += f"，下次十日一报{iso_to_cn(a['progress_due'])}"
            if a.get("long_term"):
                text += "（长期整改）"
        lines.append(text)
        for r in a.get("reports") or []:
            lines.append(f"　　　　已报送{KIND_CN.get(r['kind'], r['kind'])}：{iso_to_cn(r['received'])}")
    return lines


def _when(at: str) -> str:
    moment = datetime.fromisoformat(at)
    return f"{cn_date(moment.date())} {moment.hour}:{moment.minute:02d}"


def _event(event: dict, rules: Ruleset) -> str:
    name = event["event"]
    detail = " ".join((event.get("detail") or "").split())  # one line per event
    if len(detail) > 80:
        detail = detail[:80] + "……"
    words = EVENTS.get(name)
    if name.startswith("report-"):
        kind = name.removeprefix("report-")
        unit, _, text = detail.partition(": ")
        return f"{unit_name(rules, unit)}报送{KIND_CN.get(kind, kind)}：{text}"
    if name == "assigned":
        return "交办：" + _assigned_detail(detail, rules)
    if name == "extended":
        old, _, new = detail.partition(" -> ")
        return f"延期：办理结果时限由{iso_to_cn(old)}调整为{iso_to_cn(new)}" if new else "延期"
    if name in DECISION_WORDS or name in ("updated", "rescheduled"):
        rules_part = "、".join(RULE_CN.get(r, r) for r in detail.replace(" ", ",").split(",")
                              if r and r in RULE_CN)
        return f"{words}（{rules_part}）" if rules_part else (words or name)
    if name == "answer-drafted":
        return f"生成答复草稿（{unit_name(rules, detail)}报送办理结果）"
    if name == "answer-sent":
        return "答复企业（" + ("直接转告" if detail == "direct" else "经审核同意") + "）"
    return f"{words or name}：{detail}" if detail else (words or name)


def _assigned_detail(detail: str, rules: Ruleset) -> str:
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    text = f"承办单位{unit_name(rules, data.get('lead'))}"
    if data.get("co"):
        text += "，协办单位" + "、".join(unit_name(rules, u) for u in data["co"])
    return text + ("，长期整改" if data.get("long_term") else "")


def list_line(row: dict, rules: Ruleset) -> str:
    session = rules.session_by_id(row["session"]) if row.get("session") else None
    field = rules.field_by_id(row["field"]) if row.get("field") else None
    return "　".join((row["case"], STATUS_CN.get(row["status"], row["status"]),
                     session_label(session) or "未安排场次", field.name if field else "未确定领域",
                     row["enterprise_name"]))


def reminder_line(r: dict, rules: Ruleset) -> str:
    late = f"，已逾期{r['days_overdue']}天" if r["days_overdue"] else ""
    return (f"{r['case']}　{unit_name(rules, r['unit'])}　{KIND_CN.get(r['kind'], r['kind'])}"
            f"{STAGE_CN.get(r['stage'], r['stage'])}　时限{iso_to_cn(r['due'])}{late}")


def reminder_summary(reminders: list[Reminder] | list[dict], today: date, working: bool,
                     dry_run: bool) -> str:
    if not working:
        return f"{cn_date(today)}是休息日，不发送提醒；休息日应发的提醒在下一个工作日发送。"
    if not reminders:
        return f"{cn_date(today)}没有需要发送的提醒。"
    verb = "应发送" if dry_run else "已发送"
    return f"{cn_date(today)}{verb}提醒和督办共{len(reminders)}项："
