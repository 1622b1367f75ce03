"""Document commands: the blank forms, the session notice, the public export, the leaders' report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.calendar import WorkCalendar
from bot.commands.output import note, say
from bot.commands.progress import track, working
from bot.defaults import TemplatePath
from bot.documents.notice import render_notice
from bot.documents.publish import publish
from bot.documents.report import render_report
from bot.documents.slip import blank_slip
from bot.errors import InputError
from bot.followup.exports import public_rows, report_data
from bot.forms.blank import write_blank_docx, write_blank_xlsx
from bot.service.runtime import Options, clock_for, load, load_ruleset, open_runtime


def forms_cmd(opts: Options, outdir: Path) -> None:
    rules = load_ruleset(opts)
    outdir.mkdir(parents=True, exist_ok=True)
    kwargs = dict(districts=list(rules.programme.districts),
                  field_names=[f.name for f in rules.fields],
                  max_attendees=rules.programme.max_attendees)
    paths = [outdir / "来访企业预约登记表.xlsx", outdir / "来访企业预约登记表.docx",
             outdir / "企业诉求交办单.docx"]
    write_blank_xlsx(paths[0], **kwargs)
    write_blank_docx(paths[1], **kwargs)
    blank_slip(paths[2], template=TemplatePath(load(opts).templates_dir).find("docs/slip.docx"))
    for path in paths:
        say(str(path))


def notice_cmd(opts: Options, session_id: str, out: Path) -> None:
    rules = load_ruleset(opts)
    session = rules.session_by_id(session_id)
    if session is None:
        known = ", ".join(s.id for s in rules.sessions)
        raise InputError(f"no session {session_id!r} in sessions.toml (known: {known})")
    out.parent.mkdir(parents=True, exist_ok=True)
    render_notice(rules, session_id, out, template=TemplatePath(load(opts).templates_dir).find("docs/notice.docx"))
    note(f"wrote {out}")
    cal = WorkCalendar.from_rules(rules.holidays, rules.workdays)
    lead = rules.deadlines.notice_lead_working_days
    latest = cal.working_days_before(session.date, lead)
    published = session.notice_date or clock_for(opts, rules).today()
    if published > latest:
        note(f"warning: the notice date {published} is later than {lead} working days "
             f"before the session on {session.date} (publish by {latest})")


def publish_cmd(opts: Options, outdir: Path) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db, working("读取办理情况"):
        rows = public_rows(db, rt)
    for path in publish(track(rows, "生成公开文件", len(rows)), outdir, title=f"{rt.ruleset.programme.name}办理情况公开",
                        generated=rt.today(), templates=rt.templates.path):
        say(str(path))


def report_cmd(opts: Options, start: date, end: date, out: Path) -> None:
    if end < start:
        raise InputError("--to is before --from")
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db, working("统计办理情况"):
        data = report_data(db, rt, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    with working("生成报告"):
        render_report(data, out)
    say(str(out))
