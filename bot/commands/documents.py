"""Document commands: the blank forms, the session notice, the public export, the leaders' report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from bot.calendar import WorkCalendar
from bot.commands.output import note, say
from bot.commands.progress import track, working
from bot.defaults import TemplatePath
from bot.documents.cn import cn_date
from bot.documents.notice import render_notice
from bot.documents.publish import publish
from bot.documents.report import render_report
from bot.documents.slip import blank_slip
from bot.errors import InputError
from bot.followup.exports import public_rows, report_data
from bot.forms.blank import write_blank_docx, write_blank_xlsx
from bot.rules.model import Ruleset
from bot.rules.model import Session as SessionRule
from bot.service.runtime import Options, clock_for, load, load_ruleset, open_runtime

FORM_NAME = "来访企业预约登记表"


def forms_cmd(opts: Options, outdir: Path) -> None:
    rules = load_ruleset(opts)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = write_forms(rules, outdir)
    slip = outdir / "企业诉求交办单.docx"
    deadlines = rules.deadlines
    blank_slip(slip, TemplatePath(load(opts).templates_dir).find("docs/slip.docx"),
               status_days=deadlines.status_report_working_days, result_days=deadlines.result_days,
               long_term_days=deadlines.long_term_report_days, office=rules.programme.office)
    say("已生成空白表格：")
    for path in (*paths, slip):
        say(f"　　{path}")


def write_forms(rules: Ruleset, outdir: Path) -> list[Path]:
    """The blank registration form (附件2) in both formats."""
    programme = rules.programme
    kwargs = dict(districts=list(programme.districts), field_names=[f.name for f in rules.fields],
                  max_attendees=programme.max_attendees, mailbox=programme.mailbox,
                  office=programme.office)
    paths = [outdir / f"{FORM_NAME}.xlsx", outdir / f"{FORM_NAME}.docx"]
    write_blank_xlsx(paths[0], **kwargs)
    write_blank_docx(paths[1], **kwargs)
    return paths


def notice_cmd(opts: Options, session_id: str, out: Path) -> None:
    rules = load_ruleset(opts)
    session = rules.session_by_id(session_id)
    if session is None:
        known = "、".join(s.id for s in rules.sessions) or "无"
        raise InputError(f"没有编号为“{session_id}”的接待场次（sessions.toml 中现有：{known}）")
    out.parent.mkdir(parents=True, exist_ok=True)
    render_notice(rules, session_id, out,
                  template=TemplatePath(load(opts).templates_dir).find("docs/notice.docx"))
    forms = write_forms(rules, out.parent)
    say(f"已生成通告：{out}")
    say(f"附件（来访企业预约登记表）：{forms[0].name}、{forms[1].name}，与通告一并发布")
    today = clock_for(opts, rules).today()
    for warning in notice_warnings(rules, session, today):
        note(f"注意：{warning}")


def notice_warnings(rules: Ruleset, session: SessionRule, today: date) -> list[str]:
    """A notice that comes too late, or for a session whose date or registration has passed."""
    warnings = []
    if session.date < today:
        warnings.append(f"接待日期{cn_date(session.date)}已过，请核对场次")
    elif session.registration_closes < today:
        warnings.append(f"本场次预约登记已于{cn_date(session.registration_closes)}截止")
    cal = WorkCalendar.from_rules(rules.holidays, rules.workdays)
    lead = rules.deadlines.notice_lead_working_days
    latest = cal.working_days_before(session.date, lead)
    published = session.notice_date or today
    if published > latest:
        warnings.append(f"通告日期{cn_date(published)}距接待日{cn_date(session.date)}不足{lead}个工作日，"
                        f"应不晚于{cn_date(latest)}发布")
    return warnings


def publish_cmd(opts: Options, outdir: Path) -> None:
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db, working("读取办理情况"):
        rows = public_rows(db, rt)
    paths = publish(track(rows, "生成公开文件", len(rows)), outdir,
                    title=f"{rt.ruleset.programme.name}企业诉求办理情况公开", generated=rt.today(),
                    author=rt.ruleset.programme.office, templates=rt.templates.path)
    say(f"已生成公开办理进度（共{len(rows)}件，不含企业名称和个人信息）：")
    for path in paths:
        say(f"　　{path}")


def report_cmd(opts: Options, start: date, end: date, out: Path) -> None:
    if end < start:
        raise InputError("--to 的日期早于 --from，请检查报告期间")
    rt = open_runtime(opts, with_transport=False)
    with Session(rt.engine) as db, working("统计办理情况"):
        data = report_data(db, rt, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    with working("生成报告"):
        render_report(data, out)
    say(f"已生成{cn_date(start)}至{cn_date(end)}的办理情况报告：{out}")
