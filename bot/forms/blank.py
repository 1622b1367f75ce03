"""The blank registration form (附件2 来访企业预约登记表) that enterprises download and fill in.

Both files print the canonical labels of forms.md, so what we hand out is what the readers read best:
the workbook has dropdowns, locked label cells and an instructions sheet; the Word file uses checkbox
content controls for every tick-box question.
"""

from __future__ import annotations

from bot.documents.lean import save_lean
from bot.forms.labels import BLOCK_KEYS
from bot.forms.model import CANONICAL_LABELS, ENTERPRISE_TYPES, MEETING_FORMATS

TITLE = "来访企业预约登记表"
ANNEX = "附件2"
YES_NO = ("是", "否")
INSTRUCTIONS_SHEET = "填表说明"
LISTS_SHEET = "选项"
W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"


# forms.md: the fields a form must carry (the rest are optional); marked * on the blank form.
MANDATORY = frozenset({"enterprise_name", "credit_code", "district", "contact_name", "contact_phone", "field",
                       "facts", "requests", "declarations.judicial", "declarations.discipline",
                       "declarations.petition", "declarations.proposal"})
MARK = "*"


def printed_label(label: str, key: str) -> str:
    """The label as printed: mandatory ones start with *, which the reader ignores."""
    return f"{MARK}{label}" if key in MANDATORY else label


def instructions(max_attendees: int, mailbox: str = "", controls: str = "xlsx") -> list[str]:
    """The filling instructions; `controls` says how the choices are made in that file: dropdown
    lists in the workbook, tick boxes in the Word file."""
    if controls == "xlsx":
        choose = ("四、所属地区、诉求领域、接待形式以及四项“是否”问题，请点击单元格后从下拉列表中选择；"
                  "企业类型可从下拉列表中选择一项，属于多个类型的，请直接输入，类型之间用顿号（、）分隔。")
    else:
        choose = ("四、所属地区、企业类型、诉求领域、接待形式以及四项“是否”问题，请点击对应的方框勾选；"
                  "企业类型可多选，其余各项只选一项。")
    send = (f"七、请保持本表格式，勿修改栏目名称；填好后请作为邮件附件发送至{mailbox}，"
            "请勿转换为图片。谢谢配合！" if mailbox else
            "七、请保持本表格式，勿修改栏目名称；填好后请作为邮件附件发送至通告公布的预约邮箱，"
            "请勿转换为图片。谢谢配合！")
    return [
        "感谢贵企业报名参加市长服务民营企业接待日。请按以下说明填写本表：",
        f"一、标有“{MARK}”的栏目为必填项（企业名称、统一社会信用代码、所属地区、联系人、联系电话、诉求领域、"
        "基本情况、具体请求以及四项“是否”问题），请逐项填写完整。",
        "二、统一社会信用代码请按营业执照填写18位代码；联系电话请填写11位手机号码或带区号的固定电话。",
        f"三、参加接待人员不超过{max_attendees}人，请写明姓名和职务，多人之间用顿号（、）分隔。",
        choose,
        "五、已进入司法程序、行政复议或仲裁程序，已由纪委监委受理，已通过信访渠道反映，"
        "或已列入人大建议、政协提案办理的事项，按规定不纳入接待日受理范围，请如实选择“是”或“否”。",
        "六、基本情况请写明事情经过和目前困难，具体请求请写明希望政府协调解决的事项。",
        send,
    ]


def _choices(key: str, districts, field_names) -> tuple[str, ...] | None:
    if key == "district":
        return tuple(districts)
    if key == "field":
        return tuple(field_names)
    if key == "enterprise_types":
        return ENTERPRISE_TYPES
    if key == "meeting_format":
        return MEETING_FORMATS
    if key.startswith("declarations."):
        return YES_NO
    return None


# ---------------------------------------------------------------- xlsx

def write_blank_xlsx(path, *, districts=(), field_names=(), max_attendees: int = 3, mailbox: str = "",
                     office: str = "") -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.creator = workbook.properties.lastModifiedBy = office or TITLE
    workbook.properties.title = TITLE
    sheet = workbook.active
    sheet.title = TITLE
    lists = workbook.create_sheet(LISTS_SHEET)
    _xlsx_form(sheet, lists, districts, field_names, max_attendees, mailbox)
    _xlsx_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET, 1), max_attendees, mailbox)
    lists.sheet_state = "hidden"
    workbook.save(path)


def _xlsx_form(sheet, lists, districts, field_names, max_attendees, mailbox: str = "") -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    sheet["A1"] = ANNEX
    sheet["A1"].font = Font(name="黑体", size=12)
    sheet.merge_cells("A2:D2")
    sheet["A2"] = TITLE
    sheet["A2"].font = Font(name="方正小标宋简体", size=18, bold=True)
    sheet["A2"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[2].height = 36
    label_fill = PatternFill("solid", fgColor="F2F2F2")
    for offset, (label, key) in enumerate(CANONICAL_LABELS):
        row = 3 + offset
        cell = sheet.cell(row=row, column=1, value=printed_label(label, key))
        cell.font, cell.fill, cell.border = Font(bold=True), label_fill, border
        for column in (2, 3, 4):  # the merged value cell keeps its frame when printed
            sheet.cell(row=row, column=column).border = border
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        value = sheet.cell(row=row, column=2)
        value.protection = Protection(locked=False)
        value.alignment = Alignment(wrap_text=True, vertical="top" if key in BLOCK_KEYS else "center")
        value.number_format = "@"  # digits of a credit code or phone stay text, never a float
        sheet.row_dimensions[row].height = _row_height(key)
        _xlsx_validation(sheet, lists, value.coordinate, key, districts, field_names, max_attendees)
    last = 3 + len(CANONICAL_LABELS)
    sheet.merge_cells(start_row=last, start_column=1, end_row=last, end_column=4)
    sheet.cell(row=last, column=1, value=f"标有“{MARK}”的为必填项。" + (f"填好后请发送至：{mailbox}" if mailbox else ""))
    _xlsx_page(sheet, last)


def _row_height(key: str) -> float:
    if key in ("facts", "requests"):
        return 110
    if key in BLOCK_KEYS:
        return 60
    return 36 if key.startswith("declarations.") else 24


def _xlsx_validation(sheet, lists, coordinate, key, districts, field_names, max_attendees) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    choices = _choices(key, districts, field_names)
    if key == "attendees":
        rule = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="500",
                              promptTitle="参加接待人员",
                              prompt=f"不超过{max_attendees}人，写明姓名和职务，用顿号分隔")
    elif choices:
        column = _list_column(lists, key, choices)
        rule = DataValidation(type="list", formula1=f"={LISTS_SHEET}!${column}$1:${column}${len(choices)}",
                              allow_blank=True)
        if key == "enterprise_types":  # several types may be typed in: warn, do not refuse
            rule.errorStyle, rule.prompt = "information", "可多选，多个类型之间用顿号分隔"
    else:
        return
    rule.showInputMessage = rule.showErrorMessage = True
    sheet.add_data_validation(rule)
    rule.add(coordinate)


def _list_column(lists, key: str, choices) -> str:
    from openpyxl.utils import get_column_letter

    column = lists.max_column + 1 if lists["A1"].value is not None else 1
    for row, choice in enumerate(choices, start=1):
        lists.cell(row=row, column=column, value=choice)
    return get_column_letter(column)


def _xlsx_page(sheet, last_row: int) -> None:
    sheet.column_dimensions["A"].width = 26
    for column in "BCD":
        sheet.column_dimensions[column].width = 22
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_area = f"A1:D{last_row}"
    sheet.print_options.horizontalCentered = True
    sheet.protection.sheet = True  # labels locked so nobody renames them; value cells unlocked


def _xlsx_instructions(sheet, max_attendees: int, mailbox: str = "") -> None:
    from openpyxl.styles import Alignment

    sheet.column_dimensions["A"].width = 100
    for row, line in enumerate(instructions(max_attendees, mailbox, "xlsx"), start=1):
        cell = sheet.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4


# ---------------------------------------------------------------- docx

def write_blank_docx(path, *, districts=(), field_names=(), max_attendees: int = 3, mailbox: str = "",
                     office: str = "") -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    document = Document()
    props = document.core_properties
    props.author = props.last_modified_by = office or TITLE
    props.title, props.comments = TITLE, ""
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    document.add_paragraph(ANNEX)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(TITLE)
    run.bold, run.font.size = True, Pt(18)
    _docx_table(document, districts, field_names)
    document.add_paragraph(INSTRUCTIONS_SHEET)
    for line in instructions(max_attendees, mailbox, "docx"):
        document.add_paragraph(line)
    save_lean(document, path)  # attached to every request for a missing form


def _docx_table(document, districts, field_names) -> None:
    from docx.shared import Mm

    table = document.add_table(rows=len(CANONICAL_LABELS), cols=2)
    table.style = "Table Grid"
    for row, (label, key) in zip(table.rows, CANONICAL_LABELS):
        row.cells[0].width, row.cells[1].width = Mm(55), Mm(105)
        row.cells[0].paragraphs[0].add_run(printed_label(label, key)).bold = True
        choices = _choices(key, districts, field_names)
        if choices:
            add_checkbox_options(row.cells[1].paragraphs[0], choices)
        elif key in BLOCK_KEYS:
            row.height = Mm(30 if key in ("facts", "requests") else 15)


def add_checkbox_options(paragraph, options, checked=()) -> None:
    """`☐是 ☐否` as Word checkbox content controls, each followed by its option text."""
    for index, option in enumerate(options):
        if index:
            paragraph.add_run("  ")
        paragraph._p.append(checkbox_sdt(option in checked))
        paragraph.add_run(option)


def checkbox_sdt(checked: bool = False):
    """A `w14:checkbox` content control, as Word 2010+ inserts it."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    glyph = "☒" if checked else "☐"
    return parse_xml(
        f'<w:sdt {nsdecls("w", "w14")}><w:sdtPr><w14:checkbox>'
        f'<w14:checked w14:val="{int(checked)}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/>'
        '</w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:rPr>'
        '<w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic" w:hint="eastAsia"/>'
        f'</w:rPr><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>'
    )


def set_checkbox(sdt, checked: bool) -> None:
    """Tick or untick a checkbox content control the way Word does (state and shown glyph)."""
    w14 = "{%s}" % W14_NS
    sdt.find(f".//{w14}checked").set(f"{w14}val", "1" if checked else "0")
    for text in sdt.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"):
        text.text = "☒" if checked else "☐"
