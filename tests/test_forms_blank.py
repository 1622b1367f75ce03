"""The blank forms: what they contain, and the round trip fill -> read back -> exactly what was filled."""

import datetime as dt

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.forms.blank import (
    INSTRUCTIONS_SHEET,
    TITLE,
    set_checkbox,
    write_blank_docx,
    write_blank_xlsx,
)
from bot.forms.labels import match_label
from bot.forms.model import CANONICAL_LABELS, Form
from bot.forms.reader import read_path

DISTRICTS = ("海勃湾区", "乌达区", "海南区")
FIELDS = ("工业和信息化", "能源", "交通物流")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

FILLED = {
    "enterprise_name": "乌海市镕鑫化工有限责任公司",
    "credit_code": "91150303MA0N2K8L3R",
    "district": "乌达区",
    "enterprise_types": ["规上企业", "高新技术企业"],
    "industry": "化学原料和化学制品制造业",
    "legal_representative": "王镕",
    "contact_name": "李建国",
    "contact_title": "办公室主任",
    "contact_phone": "13904731234",
    "contact_email": "lijianguo@rongxinchem.com",
    "attendees": ["王镕（董事长）", "李建国（办公室主任）"],
    "field": "能源",
    "title": "自备电厂用电指标",
    "facts": "我公司电石炉技改后用电负荷增加。\n现有供电指标不足，影响满负荷生产。",
    "reasons": "项目已完成节能审查。",
    "requests": "请协调增加供电指标。",
    "suggested_departments": ["市能源局", "市工业和信息化局"],
    "meeting_format": "早餐会",
    "declarations": {"judicial": False, "discipline": False, "petition": True, "proposal": False},
    "signed_date": "2024-03-05",
}


def _value_of(key: str):
    if key.startswith("declarations."):
        return FILLED["declarations"][key.split(".")[1]]
    return FILLED[key]


def _as_cell_text(key: str, value):
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(value)
    if key == "signed_date":
        return dt.datetime(2024, 3, 5)  # typed into Excel, it becomes a date cell
    return value


@pytest.fixture
def blank_xlsx(tmp_path):
    path = tmp_path / "blank.xlsx"
    write_blank_xlsx(path, districts=DISTRICTS, field_names=FIELDS, max_attendees=3)
    return path


@pytest.fixture
def blank_docx(tmp_path):
    path = tmp_path / "blank.docx"
    write_blank_docx(path, districts=DISTRICTS, field_names=FIELDS, max_attendees=3)
    return path


def test_blank_xlsx_layout(blank_xlsx):
    workbook = load_workbook(blank_xlsx)
    sheet = workbook.worksheets[0]
    labels = [sheet.cell(row=r, column=1).value for r in range(3, 3 + len(CANONICAL_LABELS))]
    assert [label.lstrip("*") for label in labels] == [label for label, _ in CANONICAL_LABELS]
    assert labels[0] == "*企业名称" and labels[4] == "所属行业"  # mandatory fields are marked
    assert sheet["B3"].border.left.style == "thin"
    assert sheet["A2"].value == TITLE
    assert sheet.protection.sheet
    assert sheet["A3"].protection.locked and not sheet["B3"].protection.locked
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
    assert workbook.sheetnames[1] == INSTRUCTIONS_SHEET
    told = "".join(c.value for c in workbook[INSTRUCTIONS_SHEET]["A"])
    assert "不超过3人" in told and "下拉列表" in told and "勾选" not in told


def test_blank_xlsx_dropdowns(blank_xlsx):
    workbook = load_workbook(blank_xlsx)
    sheet, lists = workbook.worksheets[0], workbook["选项"]
    row_of = {sheet.cell(row=r, column=1).value.lstrip("*"): r for r in range(3, 3 + len(CANONICAL_LABELS))}

    def choices(label):
        cell = f"B{row_of[label]}"
        rule = next(dv for dv in sheet.data_validations.dataValidation if cell in dv.sqref)
        ref = rule.formula1.split("!")[1].replace("$", "")
        return tuple(c.value for row in lists[ref] for c in row)

    assert choices("所属地区") == DISTRICTS
    assert choices("诉求领域") == FIELDS
    assert choices("企业类型") == ("规上企业", "上市后备企业", "高新技术企业", "其他")
    assert choices("接待形式") == ("座谈会", "现场会", "早餐会", "走访企业")
    for label, key in CANONICAL_LABELS:
        if key.startswith("declarations."):
            assert choices(label) == ("是", "否")


def test_blank_docx_layout(blank_docx):
    document = Document(blank_docx)
    texts = [p.text for p in document.paragraphs]
    assert texts[:2] == ["附件2", TITLE]
    table = document.tables[0]
    assert [row.cells[0].text.lstrip("*") for row in table.rows] == [label for label, _ in CANONICAL_LABELS]
    told = "".join(texts)
    assert "勾选" in told and "下拉列表" not in told
    boxes = table._tbl.findall(".//{http://schemas.microsoft.com/office/word/2010/wordml}checkbox")
    assert len(boxes) == len(DISTRICTS) + len(FIELDS) + 4 + 4 + 4 * 2
    assert round(document.sections[0].page_width.mm) == 210


@pytest.mark.foreign_text  # the test types the date as 2024-03-05 into the form, as a person may
def test_xlsx_round_trip(blank_xlsx, tmp_path):
    workbook = load_workbook(blank_xlsx)
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows(min_row=3):
        key = match_label(row[0].value or "")
        if key:
            row[1].value = _as_cell_text(key, _value_of(key))
    filled = tmp_path / "filled.xlsx"
    workbook.save(filled)
    assert read_path(filled, districts=DISTRICTS, city="乌海市").to_json() == FILLED


@pytest.mark.foreign_text  # the test types the date as 2024-03-05 into the form, as a person may
def test_docx_round_trip(blank_docx, tmp_path):
    document = Document(blank_docx)
    for row in document.tables[0].rows:
        key = match_label(row.cells[0].text)
        _fill_docx_cell(row.cells[1], _value_of(key))
    filled = tmp_path / "filled.docx"
    document.save(filled)
    assert read_path(filled, districts=DISTRICTS, city="乌海市").to_json() == FILLED


def _fill_docx_cell(cell, value) -> None:
    paragraph = cell.paragraphs[0]
    controls = paragraph._p.findall(f"{W}sdt")
    if not controls:
        lines = "、".join(value).split("\n") if isinstance(value, list) else value.split("\n")
        paragraph.add_run(lines[0])
        for line in lines[1:]:
            cell.add_paragraph(line)
        return
    wanted = {"是" if value else "否"} if isinstance(value, bool) else set(
        value if isinstance(value, list) else [value])
    for sdt in controls:
        option = sdt.getnext().findtext(f"{W}t")  # the run right after the box holds its option
        set_checkbox(sdt, option in wanted)


def test_round_trip_tests_can_fail(blank_xlsx, tmp_path):
    """Guard against a vacuous round trip: a changed value must show up as a difference."""
    workbook = load_workbook(blank_xlsx)
    sheet = workbook.worksheets[0]
    sheet["B3"] = "另一家公司"
    workbook.save(tmp_path / "other.xlsx")
    assert read_path(tmp_path / "other.xlsx").to_json() != FILLED
    assert Form.from_json(FILLED).to_json() == FILLED
