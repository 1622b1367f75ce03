"""附件1 通告: the session notice, rendered from templates/docs/notice.docx with docxtpl.

The wording follows the work plan's template text (seed/work-plan.zh.md). The template is an ordinary
Word file the admin may edit; each Jinja tag sits inside one run so Word does not split it.
`write_notice_template` builds the shipped template (scripts/make_doc_templates.py calls it), and
rendering falls back to building it in memory when the file is missing (an installed package).
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt
from docxtpl import DocxTemplate

from ..defaults import packaged
from ..errors import ConfigError
from ..rules.model import Ruleset, Session
from .cn import (
    HEADING_FONT,
    TITLE_FONT,
    cn_date,
    cn_span,
    cn_time,
    cn_weekday,
    official_page,
    set_font,
    set_properties,
)
from .lean import save_lean
from .rows import clean_text

TEMPLATES_DIR = packaged("templates") / "docs"  # the shipped ones; the admin's are found by TemplatePath
DEFAULT_TEMPLATE = TEMPLATES_DIR / "notice.docx"

ANNEX = "附件1"

# Body paragraphs of the template, in order; None is an empty line.
NOTICE_BODY: tuple[str | None, ...] = (
    "为进一步优化营商环境，多形式、多渠道解决我市企业发展中遇到的突出困难和问题，根据“市长服务民营企业"
    "接待日”制度要求，{{ session_date }}（{{ weekday }}）{{ period }}{{ start }}—{{ end }}，{{ leader_title }}将在"
    "{{ location }}以{{ meeting_format }}形式接待企业来访。",
    "本次接待受理{{ field_names }}领域企业在生产经营中存在的问题、项目建设中遇到的问题，以及对全市经济"
    "发展和营商环境的意见和建议。",
    "根据中共中央、国务院《信访工作条例》要求，企业反映涉法涉诉、违纪违法问题由同级政法部门、纪检监察"
    "部门依法处理，市长服务民营企业接待日将不再现场受理企业涉法涉诉、违纪违法问题。",
    "企业预约登记时间为{{ window }}。企业可通过电话、传真、邮箱、现场登记等方式进行预约；通过邮箱预约的，"
    "请填写《来访企业预约登记表》（见附件）发送至指定邮箱。",
    "{{ phone_line }}",
    "电子邮箱：{{ mailbox }}",
    "现场预约时间：{{ onsite_hours }}",
    "现场预约地点：{{ onsite_place }}",
    None,
    "附件：来访企业预约登记表（电子表格、文字文档格式各一份）",
)
SIGNATURE = ("{{ office }}", "{{ notice_date }}")


def notice_title(programme_name: str) -> str:
    """《乌海市“市长服务民营企业接待日”通告》 as the work plan names 附件1."""
    return f"{programme_name}通告"


def render_notice(rules: Ruleset, session_id: str, out_path: Path, *,
                  template: Path | None = None, issued: date | None = None) -> None:
    """Write the notice of one session; `issued` overrides the session's notice_date."""
    session = rules.session_by_id(session_id)
    if session is None:
        known = "、".join(s.id for s in rules.sessions) or "无"
        raise ConfigError(f"没有编号为“{session_id}”的接待场次（sessions.toml 中现有：{known}）")
    document = DocxTemplate(template_source(template or DEFAULT_TEMPLATE, write_notice_template))
    context = notice_context(rules, session, issued)
    document.render(context, autoescape=True)
    set_properties(document.docx, context["title"], rules.programme.office)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_lean(document, out_path)  # the template's unused styles stay out of the mail


def issue_of(rules: Ruleset, session: Session) -> int:
    """期次: the session's `issue`, else its place among the listed sessions of its year."""
    if session.issue:
        return session.issue
    same_year = sorted((s for s in rules.sessions if s.date.year == session.date.year),
                       key=lambda s: (s.date, s.id))
    return same_year.index(session) + 1


def notice_context(rules: Ruleset, session: Session, issued: date | None = None) -> dict[str, str]:
    """The values the notice template may use (all plain text; the template escapes them)."""
    programme = rules.programme
    leader = rules.leader_by_id(session.leader)
    fields = [rules.field_by_id(f) for f in session.fields]
    signed = issued or session.notice_date
    context = {
        "title": notice_title(programme.name),
        "issue": f"（{session.date.year}年第{issue_of(rules, session)}期）",
        "session_date": cn_date(session.date),
        "weekday": cn_weekday(session.date),
        "period": session.period,
        "start": cn_time(session.start),
        "end": cn_time(session.end),
        "leader_title": leader.full_title if leader else session.leader,
        "location": session.location,
        "meeting_format": session.meeting_format,
        "field_names": "、".join(f.name for f in fields if f is not None),
        "window": cn_span(session.registration_opens, session.registration_closes, full=True),
        "phone_line": _phone_line(programme.phone, programme.fax),
        "mailbox": programme.mailbox,
        "onsite_hours": programme.onsite_hours,
        "onsite_place": programme.onsite_place,
        "office": programme.office,
        "notice_date": cn_date(signed) if signed else "　　年　　月　　日",
        "programme_name": programme.name,
    }
    return {key: clean_text(value) for key, value in context.items()}


def _phone_line(phone: str, fax: str) -> str:
    # The work plan prints one number for both (电话及传真); say so only when they really are one.
    if not fax or fax == phone:
        return f"电话及传真：{phone}"
    return f"电话：{phone}；传真：{fax}"


def template_source(path: Path, build) -> Path | io.BytesIO:
    if Path(path).exists():
        return Path(path)
    buffer = io.BytesIO()
    build(buffer)
    buffer.seek(0)
    return buffer


def write_notice_template(target) -> None:
    """Build templates/docs/notice.docx (a path or a binary stream) with python-docx."""
    document = Document()
    official_page(document)
    set_properties(document, "通告", "")
    annex = document.add_paragraph()
    set_font(annex.add_run(ANNEX), HEADING_FONT, 16)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(title.add_run("{{ title }}"), TITLE_FONT, 22)
    issue = document.add_paragraph()
    issue.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issue.add_run("{{ issue }}")
    document.add_paragraph()
    for text in NOTICE_BODY:
        paragraph = document.add_paragraph()
        if text:
            _body_format(paragraph)
            paragraph.add_run(text)  # one run: the tags stay whole when the admin edits in Word
    document.add_paragraph()
    for text in SIGNATURE:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.right_indent = Pt(32)
        paragraph.add_run(text)
    document.save(target)


def _body_format(paragraph) -> None:
    # 公文 body: first line indented two characters, fixed 28 pt line spacing.
    paragraph.paragraph_format.first_line_indent = Pt(32)
    paragraph.paragraph_format.line_spacing = Pt(28)
