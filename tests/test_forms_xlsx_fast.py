""".xlsx forms read by calamine when they are the size a form is: the same grids as openpyxl's.

Each workbook is read both ways: `sheet_grids` (calamine where it may, else openpyxl) and the
streamed openpyxl reading alone. Trailing empty rows are left out of the comparison (openpyxl
gives a row for every <row> element, calamine stops at the last value; the value search never
looks below the last label)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget
from bot.forms.xlsx import FAST_ROWS, MAX_COLUMNS, _streamed_grids, column_number, fast_values, sheet_grids
from tests.support.bombs import shared_string_bomb, xlsx_package

FORMS = Path(__file__).parent / "data" / "forms"
ROWS = 20000


def trimmed(grids):
    out = []
    for grid in grids:
        grid = list(grid)
        while grid and not grid[-1]:
            grid.pop()
        out.append(grid)
    return out


def both(data: bytes):
    """(the grids sheet_grids gives, openpyxl's own, whether calamine read it)."""
    fast = fast_values(data, ROWS) is not None
    return trimmed(sheet_grids(data, max_rows=ROWS)), trimmed(_streamed_grids(data, ROWS, FormBudget())), fast


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.xlsx")), ids=lambda p: p.stem)
def test_every_form_of_the_corpus_reads_the_same(path):
    fast_grids, streamed, fast = both(path.read_bytes())
    assert fast_grids == streamed
    # an 18-digit credit code typed as a number is more than a float holds: openpyxl reads it
    assert fast is (path.stem != "x11_numbers_and_date_cells")


def workbook_of_every_value() -> bytes:
    book = Workbook()
    cover = book.active
    cover.title = "说明"
    cover["A1"] = "填表说明：请填写第二页"
    sheet = book.create_sheet("登记表")
    values = {
        "企业名称": "  乌海市某某化工有限公司  ", "联系电话": 13800138000, "注册资本（万元）": 1250.5,
        "填报日期": dt.datetime(2026, 3, 18), "中文日期": dt.datetime(2024, 3, 18), "日期": dt.date(2026, 1, 2),
        "时间": dt.time(9, 30), "日期时间": dt.datetime(2026, 3, 18, 14, 5), "时长": dt.timedelta(hours=30),
        "是否": True, "否": False, "多行": "第一行\n第二行", "富文本": CellRichText([TextBlock(InlineFont(b=True), "加粗"), "普通"]),
        "公式（无缓存值）": "=1+1", "负数": -3, "零": 0, "科学计数": 1.5e-7,
    }
    for row, (label, value) in enumerate(values.items(), start=4):
        sheet.cell(row=row, column=2, value=label)
        sheet.cell(row=row, column=3, value=value)
    sheet["C8"].number_format = 'yyyy"年"m"月"d"日"'
    sheet.merge_cells("C30:E31")
    sheet["C30"] = "合并单元格"
    sheet["B30"] = "合并"
    hidden = book.create_sheet("隐藏")
    hidden.sheet_state = "hidden"
    hidden["B2"] = "隐藏页"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_every_kind_of_value_reads_the_same():
    fast_grids, streamed, fast = both(workbook_of_every_value())
    assert fast and fast_grids == streamed
    form = {row[1]: row[2] for row in fast_grids[1] if len(row) == 3}
    assert form["填报日期"] == "2026-03-18" and form["联系电话"] == "13800138000"
    assert form["时间"] == "09:30:00" and form["富文本"] == "加粗普通" and form["是否"] == "是"


def shared(*texts: str) -> str:
    return "".join(f"<si><t xml:space=\"preserve\">{t}</t></si>" for t in texts)


# Shared strings as Excel and WPS write them (openpyxl writes its strings inline): rich-text runs,
# a phonetic reading that is not part of the text, a WPS <dimension> of one cell.
EXCEL_LIKE = xlsx_package(
    '<row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2" t="s"><v>1</v></c></row>'
    '<row r="3"><c r="B3" t="s"><v>2</v></c><c r="C3" t="s"><v>3</v></c></row>'
    '<row r="4"><c r="B4" t="s"><v>4</v></c><c r="C4"><v>13904731234</v></c></row>'
    '<row r="6"><c r="B6" t="str"><f>"联系"&amp;"人"</f><v>联系人</v></c><c r="C6" t="inlineStr"><is><t>张三</t></is></c></row>',
    shared("企业名称", " 乌海市某某公司 ", "基本情况")
    + "<si><r><rPr><b/></rPr><t>第一段</t></r><r><t xml:space=\"preserve\"> 第二段</t></r></si>"
    + "<si><t>电话</t><rPh sb=\"0\" eb=\"2\"><t>でんわ</t></rPh></si>",
    sheet_head='<dimension ref="A1"/>')


def test_shared_strings_rich_text_and_cached_formulas_read_the_same():
    fast_grids, streamed, fast = both(EXCEL_LIKE)
    assert fast and fast_grids == streamed
    assert fast_grids[0][1:4] == [["", "企业名称", "乌海市某某公司"], ["", "基本情况", "第一段 第二段"],
                                  ["", "电话", "13904731234"]]
    assert fast_grids[0][5] == ["", "联系人", "张三"]


@pytest.mark.parametrize("sheet_data, why", [
    ('<row r="1"><c r="A1" t="inlineStr"><is><t>统一社会信用代码</t></is></c><c r="B1"><v>911503037011894523</v></c></row>',
     "a number past 2**53"),
    ('<row r="1"><c r="A1" t="inlineStr"><is><t>电话</t></is></c><c r="B1" t="e"><v>#N/A</v></c></row>',
     "an error value (calamine reads it as empty)"),
    (f'<row r="{FAST_ROWS + 1}"><c r="A{FAST_ROWS + 1}" t="inlineStr"><is><t>很远</t></is></c></row>',
     "a cell below FAST_ROWS"),
    (f'<row r="1"><c r="{"BM"}1" t="inlineStr"><is><t>很右</t></is></c></row>', "a cell right of MAX_COLUMNS"),
    ('<row r="1"><c t="inlineStr"><is><t>企业名称</t></is></c><c t="inlineStr"><is><t>某公司</t></is></c></row>',
     "cells without a reference"),
])
def test_what_calamine_would_read_otherwise_goes_to_openpyxl(sheet_data, why):
    assert MAX_COLUMNS < 65  # "BM" is column 65
    data = xlsx_package(sheet_data)
    assert fast_values(data, ROWS) is None, why
    fast_grids, streamed, _fast = both(data)
    assert fast_grids == streamed


def test_the_credit_code_typed_as_a_number_keeps_every_digit():
    data = xlsx_package('<row r="1"><c r="A1" t="inlineStr"><is><t>统一社会信用代码</t></is></c>'
                        '<c r="B1"><v>911503037011894523</v></c></row>')
    assert sheet_grids(data, max_rows=ROWS)[0][0] == ["统一社会信用代码", "911503037011894523"]


def test_a_shared_string_bomb_is_never_given_to_calamine():
    assert fast_values(shared_string_bomb(), ROWS) is None
    small_bomb = shared_string_bomb(rows=40, cols=10)  # small sheet, but 400 copies of 32 K characters
    assert fast_values(small_bomb, ROWS) is None


def test_the_budget_is_charged_the_same_either_way():
    data = workbook_of_every_value()
    fast_budget, streamed_budget = FormBudget(), FormBudget()
    sheet_grids(data, max_rows=ROWS, budget=fast_budget)
    _streamed_grids(data, ROWS, streamed_budget)
    assert (fast_budget.cells, fast_budget.text) == (streamed_budget.cells, streamed_budget.text) != (0, 0)


def test_rows_past_max_rows_are_not_read():
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>第{r}行</t></is></c></row>' for r in range(1, 11))
    data = xlsx_package(rows)
    assert sheet_grids(data, max_rows=4)[0] == [["第1行"], ["第2行"], ["第3行"], ["第4行"]]
    assert fast_values(data, 4) is not None


def test_a_workbook_calamine_cannot_open_gets_openpyxls_verdict():
    broken = xlsx_package('<row r="1"><c r="A1" t="s"><v>7</v></c></row>', shared("只有一个"))
    assert fast_values(broken, ROWS) is None  # index 7 of one shared string
    with pytest.raises(FormUnreadable) as streamed:
        _streamed_grids(broken, ROWS, FormBudget())
    with pytest.raises(FormUnreadable) as either:
        sheet_grids(broken, max_rows=ROWS)
    assert either.value.reason == streamed.value.reason == "corrupt"


def moved_shared_strings(keep_stale: bool) -> bytes:
    """EXCEL_LIKE with its shared strings at xl/strings.xml (the content types say so), and
    optionally a stale xl/sharedStrings.xml of other texts left behind."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(EXCEL_LIKE))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for info in source.infolist():
            body = source.read(info).replace(b"/xl/sharedStrings.xml", b"/xl/strings.xml").replace(
                b'Target="sharedStrings.xml"', b'Target="strings.xml"')
            name = "xl/strings.xml" if info.filename == "xl/sharedStrings.xml" else info.filename
            package.writestr(name, body)
        if keep_stale:
            package.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/'
                             'spreadsheetml/2006/main">' + shared(*["旧"] * 9) + "</sst>")
    return out.getvalue()


@pytest.mark.parametrize("keep_stale", [False, True], ids=["moved", "moved, stale part left"])
def test_shared_strings_kept_elsewhere_go_to_openpyxl(keep_stale):
    data = moved_shared_strings(keep_stale)
    assert fast_values(data, ROWS) is None
    fast_grids, streamed, _fast = both(data)
    assert fast_grids == streamed and fast_grids[0][1] == ["", "企业名称", "乌海市某某公司"]


def test_column_numbers_are_openpyxls_for_every_column_of_a_sheet():
    from openpyxl.utils import column_index_from_string, get_column_letter

    for number in range(1, 16385):  # A to XFD
        letters = get_column_letter(number)
        assert column_number(letters.encode()) == column_index_from_string(letters) == number
        assert column_number(letters.lower().encode()) == number
    assert column_number(b"ZZZ") > MAX_COLUMNS  # past XFD: openpyxl refuses it, and so does calamine's check


@pytest.mark.parametrize("ref, fast", [("bl1", True), ("bm1", False), ("BL1", True), ("ZZZ1", False)])
def test_a_cells_column_is_read_in_either_case_by_calamines_check(ref, fast):
    data = xlsx_package(f'<row r="1"><c r="{ref}" t="inlineStr"><is><t>企业名称</t></is></c></row>')
    assert (fast_values(data, ROWS) is not None) is fast


def test_a_prefixed_attribute_named_r_does_not_hide_a_cell_far_away():
    far = xlsx_package('<row r="1"><c xmlns:x="urn:x" x:r="A1" r="A9999" t="inlineStr"><is><t>远</t></is></c></row>')
    assert fast_values(far, ROWS) is None


def test_a_built_in_chinese_date_format_is_a_date_in_calamine_and_the_form_reads_the_same():
    """Known difference: numFmtId 31 (yyyy年m月d日) and 57 (yyyy年m月), which Chinese Excel and WPS
    write for dates, are date formats to calamine; openpyxl knows only the locale-free built-ins and
    gives the serial number. The form's date is the same either way: normalize_date reads a serial."""
    from bot.forms.normalize import normalize_date

    data = xlsx_package('<row r="1"><c r="A1" t="inlineStr"><is><t>填报日期</t></is></c><c r="B1" s="1"><v>45369</v></c></row>'
                        '<row r="2"><c r="A2" t="inlineStr"><is><t>日期</t></is></c><c r="B2" s="2"><v>45369</v></c></row>',
                        cell_formats=[0, 31, 14])
    fast_grids, streamed, fast = both(data)
    assert fast and fast_grids == [[["填报日期", "2024-03-18"], ["日期", "2024-03-18"]]]
    assert streamed == [[["填报日期", "45369"], ["日期", "2024-03-18"]]]
    assert normalize_date(fast_grids[0][0][1]) == normalize_date(streamed[0][0][1]) == "2024-03-18"
