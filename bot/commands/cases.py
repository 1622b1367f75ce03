"""After the reception: `assign`, `resolve`, `extend`, `answer`, `remind`, `cases list`, `case show`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.calendar import WorkCalendar
from bot.cases import find_case
from bot.commands.case_text import (
    case_lines,
    list_line,
    reminder_line,
    reminder_summary,
    unit_name,
)
from bot.commands.output import emit_json, say
from bot.commands.sending import send_now
from bot.documents.cn import cn_date
from bot.errors import ConfigError, InputError
from bot.followup import answers, views
from bot.followup.assign import AssignRequest, assign, assignments_of, resolve
from bot.followup.extensions import extend
from bot.followup.reminders.queue import queue_reminders, remind_json
from bot.service.runtime import Options, open_runtime
from bot.store.states import Role


def assign_cmd(opts: Options, case: str, lead: str, co: list[str], long_term: bool, note: str) -> None:
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        changed = assign(db, rt, AssignRequest(case, lead, tuple(co), long_term, note))
        db.commit()
        rows = assignments_of(db, find_case(db, case))
    send_now(rt)
    if not changed:
        say(f"{case}：交办情况没有变化，未重复发送交办单。")
        return
    rules = rt.ruleset
    lead_row = next(a for a in rows if a.role == Role.LEAD)
    co_text = f"，协办单位{'、'.join(unit_name(rules, u) for u in co)}" if co else ""
    say(f"{case}：已交{unit_name(rules, lead)}承办{co_text}，交办单已发送。"
        f"落实情况时限{cn_date(lead_row.status_due)}，办理结果时限{cn_date(lead_row.result_due)}。")


def resolve_cmd(opts: Options, case: str, on_site: bool, explained: bool, note: str) -> None:
    if on_site == explained:
        raise ConfigError("请在 --on-site（当场解决）和 --explained（解释说明）中选择一项")
    how = "on_site" if on_site else "explained"
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        changed = resolve(db, rt, case, how, note)
        db.commit()
    send_now(rt)
    words = "当场解决" if on_site else "解释说明"
    say(f"{case}：已登记为{words}并办结，处理结果已告知企业。" if changed
        else f"{case}：已是{words}，没有变化。")


def extend_cmd(opts: Options, case: str, to: date) -> None:
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        done = extend(db, rt, case, to)
        db.commit()
    send_now(rt)
    rolled = f"（{cn_date(done.asked)}为休息日，顺延至下一个工作日）" if done.asked != done.new else ""
    say(f"{case}：办理结果时限由{cn_date(done.old)}调整为{cn_date(done.new)}{rolled}，"
        "已通知承办单位和企业。")


def answer_cmd(opts: Options, case: str, text_file: Path | None) -> None:
    text = None
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"无法读取答复文件 {text_file}（应为 UTF-8 文本）：{exc}") from None
        if not text.strip():
            raise InputError(f"答复文件 {text_file} 是空的")
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        answers.approve(db, rt, case, text, by="command")
        db.commit()
    send_now(rt)
    how = "按文件中的文字" if text is not None else "按答复草稿"
    say(f"{case}：已{how}向企业发送办理答复，并征询满意度。")


def remind_cmd(opts: Options, dry_run: bool, as_json: bool) -> None:
    rt = open_runtime(opts, with_transport=not dry_run)
    with Session(rt.engine) as db:
        out = remind_json(db, rt)
    if not dry_run:
        queue_reminders(rt)
        send_now(rt)
    if as_json:
        emit_json(out)
        return
    today = rt.today()
    working = WorkCalendar.from_ruleset(rt.ruleset).is_working_day(today)
    say(reminder_summary(out["reminders"], today, working, dry_run))
    for r in out["reminders"]:
        say("　　" + reminder_line(r, rt.ruleset))


def cases_list_cmd(opts: Options, status: str | None, overdue: bool, unit: str | None,
                   as_json: bool) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        rows = views.list_cases(db, rt, status, overdue, unit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("没有符合条件的诉求。")
    for r in rows:
        say(list_line(r, rt.ruleset))


def case_show_cmd(opts: Options, case: str, as_json: bool) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        data = views.show(db, rt, case)
    if as_json:
        emit_json(data)
        return
    for line in case_lines(data, rt.ruleset):
        say(line)
