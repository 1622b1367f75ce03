"""企业诉求台账: export layout, formula safety, and the round trip through a clerk's edits."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import date, datetime

import openpyxl
import pytest

from bot.documents.ledger import (
    BASELINE_SHEET,
    SHEET_TITLE,
    export_ledger,
    import_ledger,
)
from bot.documents.rows import LEDGER_COLUMNS, LedgerRow
from bot.errors import InputError

UNITS = {"乌海市发展和改革委员会": "fgw", "乌海市工业和信息化局": "gxj", "海勃湾区人民政府": "hbw",
         "乌海市自然资源局": "zrj"}
HEADERS = [c.header for c in LEDGER_COLUMNS]
HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"x\")"]


def make_row(n: int, **changes) -> LedgerRow:
    row = LedgerRow(
        case_number=f"WHJD-2026-{n:04d}", accepted=date(2026, 11, 24 + n % 5), channel="邮件",
        enterprise_name=f"乌海市第{n}化工有限公司", credit_code="91150300MA0N00000X", district="海勃湾区",
        enterprise_types=("规上企业", "高新技术企业"), contact_name="张三", contact_phone="13904731234",
        field_name="能源", title="园区供电扩容", content="基本情况：用电负荷不足。\n具体请求：加快扩容。",
        suggested_departments=("乌海市发展和改革委员会",), decision="已受理", rules=("MATCH-CURRENT",),
        session="2026-12", leader="分管工业的副市长", status="已受理")
    return replace(row, **changes)


def export(tmp_path, rows, name="ledger.xlsx"):
    path = tmp_path / name
    count = export_ledger(rows, path, unit_names=list(UNITS))
    return path, count


def sheet_rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_export_layout(tmp_path):
    rows = [make_row(1), make_row(2, outcome="交办", lead_unit="乌海市工业和信息化局",
                                   co_units=("海勃湾区人民政府", "乌海市自然资源局"), assigned=date(2026, 12, 23),
                                   status_due=date(2027, 1, 5), result_due=date(2027, 1, 22), long_term=True)]
    path, count = export(tmp_path, rows)
    assert count == 2
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TITLE]
    assert wb.sheetnames[0] == SHEET_TITLE and wb[BASELINE_SHEET].sheet_state == "veryHidden"
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(HEADERS))}3"
    assert ws.protection.sheet and not ws.protection.sort and not ws.protection.autoFilter
    col = {h: i + 1 for i, h in enumerate(HEADERS)}
    second = {h: ws.cell(3, col[h]) for h in HEADERS}
    assert second["编号"].value == rows[1].case_number
    assert second["协办单位"].value == "、".join(rows[1].co_units)
    assert second["长期整改"].value == "是"
    assert second["企业类型"].value == "、".join(rows[1].enterprise_types)
    assert isinstance(second["交办日期"].value, datetime) and second["交办日期"].value.date() == rows[1].assigned
    assert second["交办日期"].number_format == 'yyyy"年"m"月"d"日"'  # printed 2026年12月23日
    assert second["编号"].border.left.style == "thin"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert second["诉求内容"].alignment.wrap_text
    for header in HEADERS:
        admin = next(c.admin for c in LEDGER_COLUMNS if c.header == header)
        assert second[header].protection.locked is (not admin), header
        assert ws.column_dimensions[openpyxl.utils.get_column_letter(col[header])].width > 0
    validated = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    letters = {h: openpyxl.utils.get_column_letter(col[h]) for h in ("现场结果", "承办单位", "协办单位", "长期整改")}
    for header, letter in letters.items():
        assert f"{letter}2:{letter}3" in validated, header
    assert "交办" in validated[f"{letters['现场结果']}2:{letters['现场结果']}3"].formula1
    assert not validated[f"{letters['协办单位']}2:{letters['协办单位']}3"].showErrorMessage  # free text allowed
    lists = wb["_下拉选项"]
    assert [r[0] for r in sheet_rows(lists)] == list(UNITS)


@pytest.mark.foreign_text  # hostile text (formulas, markup) goes in on purpose
def test_formula_like_text_stays_text(tmp_path):
    rows = [make_row(i, enterprise_name=text, content=text, latest_progress=text, requirements=text)
            for i, text in enumerate(HOSTILE, 1)]
    path, _ = export(tmp_path, rows)
    ws = openpyxl.load_workbook(path)[SHEET_TITLE]
    col = HEADERS.index("企业名称") + 1
    for index, text in enumerate(HOSTILE, 2):
        cell = ws.cell(index, col)
        assert cell.value == text and cell.data_type == "s"
        assert cell.quotePrefix  # stays text when the clerk edits it in Excel
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(rb"<f[ >]", archive.read(name)), name


def clerk_edits(path, out, edit):
    """Open like a clerk in a spreadsheet program, change cells, sort rows, hide a column, add one."""
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TITLE]
    col = {c.value: c.column for c in ws[1]}
    edit(ws, col)
    data = sorted(sheet_rows(ws)[1:], key=lambda r: r[0], reverse=True)  # sort by 编号, descending
    for r, values in enumerate(data, 2):
        for c, value in enumerate(values, 1):
            ws.cell(r, c).value = value
    ws.column_dimensions["E"].hidden = True
    extra = ws.max_column + 1
    ws.cell(1, extra, "经办人备注")
    ws.cell(2, extra, "已电话确认")
    wb.save(out)
    return {values[0]: r for r, values in enumerate(data, 2)}


def find_row(ws, col, case):
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["编号"]).value == case)


def test_round_trip(tmp_path):
    rows = [make_row(i) for i in range(1, 6)]
    path, _ = export(tmp_path, rows)

    def edit(ws, col):
        r1 = find_row(ws, col, rows[0].case_number)
        ws.cell(r1, col["现场结果"]).value = "交办"
        ws.cell(r1, col["承办单位"]).value = "乌海市发展和改革委员会"
        ws.cell(r1, col["协办单位"]).value = "乌海市工业和信息化局、海勃湾区人民政府"
        ws.cell(r1, col["办理要求"]).value = "-请7个工作日内报送"
        ws.cell(r1, col["长期整改"]).value = "是"
        r3 = find_row(ws, col, rows[2].case_number)
        ws.cell(r3, col["现场结果"]).value = "当场解决"
        ws.cell(r3, col["企业名称"]).value = "被改动的企业名称"  # a bot-owned cell
        ws.cell(r3, col["交办日期"]).value = datetime(2027, 1, 1)

    edited = tmp_path / "edited.xlsx"
    where = clerk_edits(path, edited, edit)
    result = import_ledger(edited, unit_by_name=UNITS.get)
    assert result.problems == []
    by_case = {e.case_number: e for e in result.edits}
    assert set(by_case) == {rows[0].case_number, rows[2].case_number}  # untouched rows are not edits
    first = by_case[rows[0].case_number]
    assert first.row == where[rows[0].case_number]
    assert (first.outcome, first.lead_unit, first.co_units, first.long_term) == ("交办", "fgw", ("gxj", "hbw"), True)
    assert first.requirements == "-请7个工作日内报送"
    third = by_case[rows[2].case_number]
    assert (third.outcome, third.lead_unit, third.co_units, third.long_term) == ("当场解决", None, (), False)
    assert len(result.ignored) == 2
    assert all(f"第{where[rows[2].case_number]}行" in line for line in result.ignored)
    assert any("企业名称" in line for line in result.ignored) and any("交办日期" in line for line in result.ignored)


def test_reimport_of_an_unchanged_export_is_empty(tmp_path):
    rows = [make_row(1, outcome="交办", lead_unit="乌海市自然资源局", assigned=date(2026, 12, 23)), make_row(2)]
    path, _ = export(tmp_path, rows)
    result = import_ledger(path, unit_by_name=UNITS.get)
    assert (result.edits, result.problems, result.ignored, result.notes) == ([], [], [], [])


def test_problems_name_row_and_column(tmp_path):
    rows = [make_row(i) for i in range(1, 8)]
    path, _ = export(tmp_path, rows)
    cases = {}

    def edit(ws, col):
        def put(n, **cells):
            r = find_row(ws, col, rows[n].case_number)
            cases[n] = rows[n].case_number
            for header, value in cells.items():
                ws.cell(r, col[header]).value = value
        put(0, 现场结果="交办", 承办单位="不存在的局")
        put(1, 现场结果="已解决")
        put(2, 现场结果="交办")
        put(3, 现场结果="交办", 承办单位="乌海市工业和信息化局", 协办单位="乌海市工业和信息化局")
        put(4, 现场结果="交办", 承办单位="乌海市工业和信息化局", 长期整改="也许")
        put(5, 承办单位="海勃湾区人民政府")
        put(6, 编号="WHJD-2026-9999", 现场结果="当场解决")

    edited = tmp_path / "edited.xlsx"
    where = clerk_edits(path, edited, edit)
    result = import_ledger(edited, unit_by_name=UNITS.get)
    assert result.edits == []
    problems = "\n".join(result.problems)
    expectations = [(cases[0], "承办单位", "不存在的局"), (cases[1], "现场结果", "已解决"),
                    (cases[2], "承办单位", "交办"), (cases[3], "协办单位", "已是承办单位"),
                    (cases[4], "长期整改", "也许"), (cases[5], "现场结果", "为空")]
    for case, column, detail in expectations:
        line = next(p for p in result.problems if case in p)
        assert line.startswith(f"第{where[case]}行："), line
        assert f"“{column}”" in line and detail in line, line
    assert "WHJD-2026-9999" in problems and "不在导出的台账中" in problems
    assert all(re.match(r"第\d+行：", p) for p in result.problems)


def test_duplicate_case_number(tmp_path):
    path, _ = export(tmp_path, [make_row(1), make_row(2)])
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TITLE]
    ws.cell(3, 1).value = ws.cell(2, 1).value
    wb.save(path)
    result = import_ledger(path, unit_by_name=UNITS.get)
    assert any("重复" in p and p.startswith("第3行：") for p in result.problems)


def test_cleared_case_number_with_a_decision(tmp_path):
    path, _ = export(tmp_path, [make_row(1)])
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TITLE]
    ws.cell(2, 1).value = None
    ws.cell(2, HEADERS.index("现场结果") + 1).value = "解释说明"
    ws.cell(5, HEADERS.index("长期整改") + 1).value = "否"  # a stray 否 below the data is no decision
    wb.save(path)
    result = import_ledger(path, unit_by_name=UNITS.get)
    assert result.edits == [] and len(result.problems) == 1
    assert result.problems[0].startswith("第2行：“编号”为空")


def test_moved_columns_title_row_and_no_baseline(tmp_path):
    path, _ = export(tmp_path, [make_row(1), make_row(2)])
    wb = openpyxl.load_workbook(path)
    del wb[BASELINE_SHEET]  # e.g. copied into a new workbook
    ws = wb[SHEET_TITLE]
    ws.insert_cols(1)  # the clerk's own first column
    ws.insert_rows(1)  # and a title above the header
    ws.cell(1, 2).value = "2026年12月接待日企业诉求台账"
    col = {c.value: c.column for c in ws[2] if c.value}
    ws.cell(2, col["承办单位"]).value = "承办单位\n（下拉选择）"  # a note in the header
    ws.cell(4, col["现场结果"]).value = "解释说明"
    wb.save(path)
    result = import_ledger(path, unit_by_name=UNITS.get)
    assert result.problems == [] and result.ignored == [] and len(result.notes) == 1
    assert [(e.row, e.case_number, e.outcome) for e in result.edits] == [(4, "WHJD-2026-0002", "解释说明")]


def test_wps_dimension_is_not_trusted(tmp_path):
    path, _ = export(tmp_path, [make_row(1), make_row(2)])
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_TITLE]
    ws.cell(3, HEADERS.index("现场结果") + 1).value = "当场解决"
    wb.save(path)
    wps = tmp_path / "wps.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(wps, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A1"', data)
            dst.writestr(item, data)
    result = import_ledger(wps, unit_by_name=UNITS.get)
    assert [e.case_number for e in result.edits] == ["WHJD-2026-0002"]


def test_missing_admin_column_and_unreadable_file(tmp_path):
    path, _ = export(tmp_path, [make_row(1)])
    wb = openpyxl.load_workbook(path)
    wb[SHEET_TITLE].delete_cols(HEADERS.index("协办单位") + 1)
    wb.save(path)
    assert "未找到台账表头" in import_ledger(path, unit_by_name=UNITS.get).problems[0]
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(InputError):
        import_ledger(bogus, unit_by_name=UNITS.get)


def test_control_characters_and_empty_export(tmp_path):
    path, count = export(tmp_path, [make_row(1, content="第一行\x00\x0b第二行")])
    ws = openpyxl.load_workbook(path)[SHEET_TITLE]
    assert ws.cell(2, HEADERS.index("诉求内容") + 1).value == "第一行第二行"
    empty, count = export(tmp_path, [], name="empty.xlsx")
    assert count == 0
    assert import_ledger(empty, unit_by_name=UNITS.get).edits == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_saved_again_by_another_spreadsheet_program(tmp_path):
    """LibreOffice (like WPS) rewrites the whole file: an untouched ledger still imports as unchanged."""
    rows = [make_row(1, outcome="交办", lead_unit="乌海市自然资源局", co_units=("海勃湾区人民政府",),
                     assigned=date(2026, 12, 23), latest_progress="=已报送"), make_row(2)]
    path, _ = export(tmp_path, rows)
    out_dir = tmp_path / "saved"
    subprocess.run(["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(out_dir), str(path)],
                   check=True, capture_output=True, timeout=120)
    result = import_ledger(out_dir / path.name, unit_by_name=UNITS.get)
    assert (result.edits, result.problems, result.ignored) == ([], [], [])
