"""Public progress export: no personal data by construction, HTML escaped, spreadsheet formula-safe."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import date

import openpyxl
import pytest

from bot.documents.cn import cn_date
from bot.documents.publish import COLUMNS, publish
from bot.documents.rows import LedgerRow, PublicRow

HOSTILE = PublicRow(case_number="<script>alert('x')</script>", field_name="=cmd|' /C calc'!A0",
                    lead_unit="A&B<单位>", status="\"办理中\" onmouseover=1", accepted=date(2026, 11, 25))
PLAIN = PublicRow(case_number="WHJD-2026-0001", field_name="能源", lead_unit="乌海市发展和改革委员会",
                  status="已办结", accepted=date(2026, 11, 24), assigned=date(2026, 12, 23),
                  result_due=date(2027, 1, 22), closed=date(2027, 1, 10))


def test_public_row_has_no_personal_field():
    public = {f.name for f in dataclasses.fields(PublicRow)}
    assert public == {"case_number", "field_name", "lead_unit", "status", "accepted", "assigned",
                      "result_due", "closed"}
    personal = {"enterprise_name", "credit_code", "contact_name", "contact_phone", "content", "title"}
    assert personal <= {f.name for f in dataclasses.fields(LedgerRow)}  # the office's view has them
    assert not personal & public


@pytest.mark.foreign_text  # hostile text (formulas, markup) goes in on purpose
def test_html_escapes_everything(tmp_path):
    html_path, xlsx_path = publish([PLAIN, HOSTILE], tmp_path, title="进度公开<b>", generated=date(2027, 1, 15))
    assert (html_path.name, xlsx_path.name) == ("progress.html", "progress.xlsx")
    html = html_path.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "A&amp;B&lt;单位&gt;" in html and "进度公开&lt;b&gt;" in html
    assert "&#34;办理中&#34; onmouseover=1" in html
    assert "<td" in html and all(f"<th>{name}</th>" in html for name in COLUMNS)
    for value in (PLAIN.case_number, PLAIN.lead_unit, cn_date(PLAIN.result_due), cn_date(PLAIN.closed)):
        assert value in html
    assert PLAIN.result_due.isoformat() not in html  # dates for people, as 2027年1月22日
    assert "2027年1月15日" in html


@pytest.mark.foreign_text  # hostile text (formulas, markup) goes in on purpose
def test_xlsx_is_formula_safe(tmp_path):
    _, xlsx_path = publish([PLAIN, HOSTILE], tmp_path, title="办理进度", generated=date(2027, 1, 15))
    ws = openpyxl.load_workbook(xlsx_path).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[1] == list(COLUMNS)
    assert rows[2][:4] == [PLAIN.case_number, PLAIN.field_name, PLAIN.lead_unit, PLAIN.status]
    cell = ws.cell(4, 2)
    assert cell.value == HOSTILE.field_name and cell.data_type == "s"
    with zipfile.ZipFile(xlsx_path) as archive:
        sheet = next(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
        assert not re.search(rb"<f[ >]", archive.read(sheet))
