"""After the reception: `assign`, `resolve`, `extend`, `remind`, `cases list`, `case show`."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from bot.commands.output import emit_json, say
from bot.commands.sending import send_now
from bot.errors import ConfigError
from bot.followup import views
from bot.followup.assign import AssignRequest, assign, extend, resolve
from bot.followup.reminders.queue import queue_reminders, remind_json
from bot.service.runtime import Options, open_runtime


def assign_cmd(opts: Options, case: str, lead: str, co: list[str], long_term: bool, note: str) -> None:
    rt = open_runtime(opts)
    with Session(rt.engine) as db:
        changed = assign(db, rt, AssignRequest(case, lead, tuple(co), long_term, note))
        db.commit()
    send_now(rt)
    say(f"{case}: assigned to {lead}" if changed else f"{case}: already assigned so, nothing sent")


def resolve_cmd(opts: Options, case: str, on_site: bool, explained: bool, note: str) -> None:
    if on_site == explained:
        raise ConfigError("give exactly one of --on-site or --explained")
    how = "on_site" if on_site else "explained"
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        changed = resolve(db, rt, case, how, note)
        db.commit()
    say(f"{case}: {how}" if changed else f"{case}: unchanged")


def extend_cmd(opts: Options, case: str, to: date) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        lead = extend(db, rt, case, to)
        db.commit()
        say(f"{case}: result due moved to {lead.result_due}")


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
    for r in out["reminders"]:
        say(f"{r['case']} {r['unit']} {r['kind']} {r['stage']} due {r['due']}")


def cases_list_cmd(opts: Options, status: str | None, overdue: bool, unit: str | None,
                   as_json: bool) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        rows = views.list_cases(db, rt, status, overdue, unit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        say(f"{r['case']}\t{r['status']}\t{r['session'] or '-'}\t{r['field'] or '-'}\t{r['enterprise_name']}")


def case_show_cmd(opts: Options, case: str, as_json: bool) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db:
        data = views.show(db, rt, case)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        say(f"{key}: {value}")
