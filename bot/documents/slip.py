"""附件3 企业诉求交办单: one slip per case and unit, rendered from templates/docs/slip.docx (docxtpl).

The layout is ours (the work plan does not carry it): a bordered table with the fields of forms.md, the
signature cells (签收人 / 签收日期) left blank for the unit. `blank_slip` writes the same form empty for
`forms OUTDIR`.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from docxtpl import DocxTemplate

from .cn import (
    HEADING_FONT,
    TITLE_FONT,
    cn_date,
    official_page,
    set_font,
    set_properties,
)
from .lean import save_lean
from .notice import TEMPLATES_DIR, template_source
from .rows import SlipData, clean_text

DEFAULT_TEMPLATE = TEMPLATES_DIR / "slip.docx"
SLIP_TITLE = "企业诉求交办单"
ANNEX = "附件3"
HANDLING = "办理情况（由承办单位填写）"

# Table rows: (label, tag) spans the row; (label, tag, label, tag) is two pairs side by side;
# (label,) alone is a section heading across the table.
SLIP_ROWS: tuple[tuple[str, ...], ...] = (
    ("编号", "{{ case_number }}", "交办日期", "{{ assigned }}"),
    ("交办单位", "{{ office }}", "接待日期", "{{ reception_date }}"),
    ("承办单位", "{{ lead_unit }}", "协办单位", "{{ co_units }}"),
    ("企业名称", "{{ enterprise_name }}"),
    ("联系人", "{{ contact_name }}", "联系电话", "{{ contact_phone }}"),
    ("诉求领域", "{{ field_name }}", "接待领导", "{{ leader_title }}"),
    ("诉求标题", "{{ title }}"),
    ("诉求内容", "{{ content }}"),
    ("领导交办意见/办理要求", "{{ requirements }}"),
    ("落实情况报送时限", "{{ status_due }}", "办理结果报送时限", "{{ result_due }}"),
    ("长期整改（十日一报）", "{{ long_term }}"),
    ("交办方联系人及电话", "{{ office_contact }}"),
    ("回复方式", "{{ reply_instructions }}"),
    (HANDLING,),
    ("落实情况", ""),
    ("办理结果", ""),
    ("承办人", "", "联系电话", ""),
    ("签收人", "", "签收日期", ""),
)
# The note quotes deadlines.toml through the context, never a number of its own.
SLIP_NOTE = ("{{ note }}")
_WIDTHS = (Cm(3.5), Cm(4.3), Cm(3.5), Cm(4.3))  # 15.6 cm: the text width of the 公文 page
# Room to write in by hand on a printed slip, all on one A4 page.
_ROW_HEIGHT = Cm(0.75)
_TALL_ROWS = {"诉求内容": Cm(3.0), "领导交办意见/办理要求": Cm(1.6), "落实情况": Cm(2.0), "办理结果": Cm(2.0),
              HANDLING: Cm(0.6)}
_TABLE_PT = 10.5  # 五号


def render_slip(data: SlipData, out_path: Path, template: Path | None = None) -> None:
    _render(slip_context(data), out_path, template, data.office)


def blank_slip(out_path: Path, template: Path | None = None, *, status_days: int = 7,
               result_days: int = 30, long_term_days: int = 10, office: str = "") -> None:
    """The slip with every value empty and both boxes of 长期整改 unticked; the note states the
    deadlines the caller passes (deadlines.toml)."""
    context = {name: "" for name in _tag_names()}
    context["long_term"] = "□是　□否"
    context["note"] = slip_note(status_days, result_days, long_term_days)
    _render(context, out_path, template, office)


def slip_note(status_days: int, result_days: int, long_term_days: int) -> str:
    return (f"请承办单位在{status_days}个工作日内报送落实情况，{result_days}日内报送办理结果；长期整改问题按照"
            f"“十日一报”的原则，每{long_term_days}日报送一次进展，直至问题解决。协办单位请主动配合承办单位办理。"
            "报送时限遇休息日顺延至下一个工作日。")


def slip_context(data: SlipData) -> dict[str, str]:
    content = "\n".join(f"{label}：{text}" for label, text in
                        (("基本情况", data.facts), ("理由依据", data.reasons), ("具体请求", data.requests)) if text)
    contact = "　".join(p for p in (data.office_contact, data.office_phone) if p)
    context = {
        "case_number": data.case_number,
        "assigned": cn_date(data.assigned),
        "office": data.office,
        "lead_unit": data.lead_unit,
        "co_units": "、".join(data.co_units) or "无",
        "enterprise_name": data.enterprise_name,
        "contact_name": data.contact_name,
        "contact_phone": data.contact_phone,
        "field_name": data.field_name,
        "title": data.title or "（未填写）",
        "content": content,
        "leader_title": data.leader_title,
        "reception_date": cn_date(data.reception_date),
        "requirements": data.requirements or "按照接待日现场研究意见办理",
        "status_due": _due(data.status_due, f"{data.status_days}个工作日内"),
        "result_due": _due(data.result_due, f"{data.result_days}日内"),
        "long_term": _long_term(data),
        "office_contact": contact,
        "reply_instructions": data.reply_instructions or _default_reply(data.case_number),
        "note": slip_note(data.status_days, data.result_days, data.long_term_days),
    }
    return {key: clean_text(value) for key, value in context.items()}


def _long_term(data: SlipData) -> str:
    if not data.long_term:
        return "□是　☑否"
    first = f"首次进展报送时限{cn_date(data.first_progress_due)}，" if data.first_progress_due else ""
    return f"☑是　□否（{first}此后每{data.long_term_days}日报送一次，直至问题解决）"


def _default_reply(case_number: str) -> str:
    # Replies are matched to the case by the number in the subject (the mail side relies on it).
    return f"请直接回复交办邮件报送办理情况，并在邮件主题中保留编号{case_number}。"


def _due(day, span: str) -> str:
    return f"{cn_date(day)}前（{span}）" if day else ""


def _tag_names() -> list[str]:
    return [cell[3:-3] for row in SLIP_ROWS for cell in row if cell.startswith("{{")] + ["note"]


def _render(context: dict[str, str], out_path: Path, template: Path | None, office: str) -> None:
    document = DocxTemplate(template_source(template or DEFAULT_TEMPLATE, write_slip_template))
    document.render(context, autoescape=True)  # enterprise text may hold < & >: escape, never break XML
    set_properties(document.docx, SLIP_TITLE, office)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_lean(document, out_path)  # the template's unused styles stay out of the mail


def write_slip_template(target) -> None:
    """Build templates/docs/slip.docx (a path or a binary stream) with python-docx."""
    document = Document()
    official_page(document)
    for section in document.sections:  # a form, not a 公文 text: narrower margins keep it on one page
        section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.0)
    set_properties(document, SLIP_TITLE, "")
    set_font(document.styles["Normal"], "仿宋_GB2312", _TABLE_PT)
    annex = document.add_paragraph()
    set_font(annex.add_run(ANNEX), HEADING_FONT, 12)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(6)
    set_font(title.add_run(SLIP_TITLE), TITLE_FONT, 20)
    table = document.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    table.autofit = False
    for column, width in zip(table.columns, _WIDTHS):
        column.width = width
    for spec in SLIP_ROWS:
        _add_row(table, spec)
    note = document.add_paragraph()
    note.paragraph_format.space_before = Pt(4)
    set_font(note.add_run(SLIP_NOTE), "仿宋_GB2312", 10)
    document.save(target)


def _add_row(table, spec: tuple[str, ...]) -> None:
    row = table.add_row()
    row.height = _TALL_ROWS.get(spec[0], _ROW_HEIGHT)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cells = row.cells
    for cell, width in zip(cells, _WIDTHS):
        cell.width = width
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if len(spec) == 1:  # a heading across the table
        cells[0].merge(cells[3])
        run = cells[0].paragraphs[0].add_run(spec[0])
        set_font(run, HEADING_FONT, _TABLE_PT)
        cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        return
    if len(spec) == 2:
        cells[1].merge(cells[3])
        spec = (spec[0], spec[1], None, None)
    for index, text in enumerate(spec):
        if text is None:
            continue
        run = cells[index].paragraphs[0].add_run(text)
        if index % 2 == 0:  # labels
            set_font(run, HEADING_FONT, _TABLE_PT)
            cells[index].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
