"""The leaders' report: tables from the data, an inline chart, CJK font fallback that never crashes."""

from __future__ import annotations

import subprocess
from datetime import date

import docx
import pytest

from bot.documents import report
from bot.documents.report import field_chart, render_report, summary_text
from bot.documents.rows import CommonIssue, LateItem, ReportData, UnitOnTime
from bot.errors import DocumentError

DATA = ReportData(
    period_from=date(2026, 12, 1), period_to=date(2027, 1, 31), registered=12,
    by_field={"能源": 5, "工业和信息化": 3, "自然资源和规划": 2},
    by_unit={"乌海市发展和改革委员会": 4, "乌海市工业和信息化局": 3},
    by_status={"已办结": 6, "办理中": 3, "答复待审核": 1, "不予受理": 2},
    on_time=(UnitOnTime("乌海市发展和改革委员会", due=4, on_time=3), UnitOnTime("乌海市工业和信息化局", 2, 2),
             UnitOnTime("海勃湾区人民政府", 0, 0)),
    late=(LateItem("WHJD-2026-0003", "乌海市发展和改革委员会", "status", date(2027, 1, 5), None, 12,
                   date(2027, 1, 11)),),
    satisfaction={"满意": 4, "基本满意": 1, "不满意": 1, "未答复": 2},
    common_issues=(CommonIssue("用电报装", 4, ("WHJD-2026-0001", "WHJD-2026-0002", "WHJD-2026-0004",
                                            "WHJD-2026-0006")),
                   CommonIssue("融资担保", 2, ("WHJD-2026-0008", "WHJD-2026-0009"))),
    office="乌海市人民政府办公室", generated=date(2027, 2, 1))


def tables_text(document) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in table.rows] for table in document.tables]


def test_report_has_tables_chart_and_summary(tmp_path):
    out = tmp_path / "report.docx"
    render_report(DATA, out)
    document = docx.Document(out)
    assert len(document.inline_shapes) >= 1
    text = "\n".join(p.text for p in document.paragraphs)
    assert summary_text(DATA) in text
    assert f"共收到企业预约登记12件，受理{sum(DATA.by_field.values())}件" in text
    assert "“登记”指本期收到的全部预约登记" in text  # one line saying what each count is
    tables = tables_text(document)
    rows = [row for table in tables for row in table]
    for name, count in DATA.by_field.items():
        assert [name, str(count), f"{count / sum(DATA.by_field.values()):.1%}"] in rows
    for name, count in list(DATA.by_unit.items()) + list(DATA.by_status.items()):
        assert any(row[:2] == [name, str(count)] for row in rows), name
    for unit in DATA.on_time[:2]:
        assert [unit.unit, str(unit.due), str(unit.on_time), str(unit.late), f"{unit.rate:.1%}"] in rows
    assert ["合计", "6", "5", "1", "83.3%"] in rows
    assert ["合计", "12", "100%"] in rows  # by_status adds up to the registrations
    assert ["合计", "10", "100%"] in rows  # by_field adds up to the demands taken on
    assert ["WHJD-2026-0003", "乌海市发展和改革委员会", "落实情况", "2027年1月5日", "未报送", "12",
            "2027年1月11日提请督办"] in rows
    assert "其中1项已提请督查室督办" in text
    captions = [p.text for p in document.paragraphs if p.text.startswith("表")]
    assert captions[:3] == ["表1　各领域受理诉求件数", "表2　各承办单位交办件数", "表3　各承办单位按时报送情况"]
    number_cell = document.tables[0].rows[1].cells[1].paragraphs[0]
    assert number_cell.alignment == 2  # right
    assert document.core_properties.author == DATA.office
    for level, count in DATA.satisfaction.items():
        assert any(row[:2] == [level, str(count)] for row in rows), level
    issue = DATA.common_issues[0]
    assert [issue.topic, str(issue.enterprises), "、".join(issue.case_numbers)] in rows
    assert not any("融资担保" in cell for row in rows for cell in row)  # only 2 enterprises: not common
    assert "满意率83.3%" in text  # (4 + 1) / 6 answered
    assert "按时报送率83.3%" in text  # 5 of 6 due


def test_empty_period(tmp_path):
    out = tmp_path / "empty.docx"
    empty = ReportData(period_from=date(2027, 2, 1), period_to=date(2027, 2, 28))
    render_report(empty, out)
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert "未受理企业诉求" in text and "本期无逾期报送或逾期未报送事项" in text


def test_no_cjk_font_is_a_clear_error_not_tofu(monkeypatch, tmp_path):
    monkeypatch.setattr(report, "cjk_font", lambda: None)
    with pytest.raises(DocumentError, match="未找到中文字体"):
        field_chart({"能源": 2, "金融": 1})
    with pytest.raises(DocumentError):
        render_report(DATA, tmp_path / "r.docx")
    assert not (tmp_path / "r.docx").exists()


def test_font_lookup_survives_missing_fc_list(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("fc-list")
    monkeypatch.setattr(subprocess, "run", missing)
    assert report._fc_list_zh() == []
