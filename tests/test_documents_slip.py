"""附件3 企业诉求交办单: every field of forms.md, read back from the .docx table."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import docx
import pytest

from bot.documents.cn import cn_date
from bot.documents.rows import SlipData
from bot.documents.slip import DEFAULT_TEMPLATE, SLIP_ROWS, blank_slip, render_slip

SLIP = SlipData(
    case_number="WHJD-2026-0007", office="乌海市人民政府办公室", lead_unit="乌海市发展和改革委员会",
    co_units=("乌海市工业和信息化局", "海勃湾区人民政府"), enterprise_name="乌海市某某化工有限公司",
    contact_name="王五", contact_phone="13904731234", field_name="能源",
    facts="企业新建生产线需增加用电负荷。\n现有变电站容量不足。", requests="协调供电公司加快扩容审批。",
    leader_title="分管工业的副市长", reception_date=date(2026, 12, 22),
    requirements="请牵头会同供电公司研究解决方案。", assigned=date(2026, 12, 23),
    status_due=date(2027, 1, 5), result_due=date(2027, 1, 22), long_term=True,
    office_contact="营商环境科 王丽", office_phone="0473-8991510",
    reply_instructions="请直接回复本邮件，并在邮件主题中保留编号 WHJD-2026-0007。",
    title="新建生产线用电增容", reasons="项目已列入自治区重点项目清单。", first_progress_due=date(2027, 1, 15),
    status_days=7, result_days=30, long_term_days=10)


def table_values(path) -> dict[str, str]:
    """label -> value of the slip table (merged cells repeat; take each label's right neighbour)."""
    values: dict[str, str] = {}
    for row in docx.Document(path).tables[0].rows:
        cells = [c.text for c in row.cells]
        for index in range(0, len(cells), 2):
            values.setdefault(cells[index], cells[index + 1])
    return values


def test_slip_has_every_field(tmp_path):
    out = tmp_path / "slip.docx"
    render_slip(SLIP, out, DEFAULT_TEMPLATE)
    values = table_values(out)
    assert {row[0] for row in SLIP_ROWS} <= values.keys()
    assert values["编号"] == SLIP.case_number
    assert values["交办单位"] == SLIP.office
    assert values["承办单位"] == SLIP.lead_unit
    assert values["协办单位"] == "、".join(SLIP.co_units)
    assert values["企业名称"] == SLIP.enterprise_name
    assert values["联系人"] == SLIP.contact_name and values["联系电话"] == SLIP.contact_phone
    assert values["诉求领域"] == SLIP.field_name
    assert SLIP.facts in values["诉求内容"] and SLIP.requests in values["诉求内容"]  # \n read back as a break
    assert values["接待领导"] == SLIP.leader_title
    assert values["接待日期"] == cn_date(SLIP.reception_date)
    assert values["领导交办意见/办理要求"] == SLIP.requirements
    assert values["交办日期"] == cn_date(SLIP.assigned)
    assert values["落实情况报送时限"].startswith(cn_date(SLIP.status_due))
    assert values["办理结果报送时限"].startswith(cn_date(SLIP.result_due))
    assert values["长期整改（十日一报）"].startswith("☑是　□否")
    assert "首次进展报送时限2027年1月15日，此后每10日报送一次" in values["长期整改（十日一报）"]
    assert values["诉求标题"] == SLIP.title and SLIP.reasons in values["诉求内容"]
    assert values["落实情况"] == "" and values["办理结果"] == "" and values["承办人"] == ""
    assert SLIP.office_contact in values["交办方联系人及电话"] and SLIP.office_phone in values["交办方联系人及电话"]
    assert values["回复方式"] == SLIP.reply_instructions
    assert values["签收人"] == "" and values["签收日期"] == ""


def test_slip_without_co_units_or_long_term(tmp_path):
    out = tmp_path / "slip.docx"
    render_slip(replace(SLIP, co_units=(), long_term=False, reply_instructions=""), out)
    values = table_values(out)
    assert values["协办单位"] == "无"
    assert SLIP.case_number in values["回复方式"]
    assert values["长期整改（十日一报）"] == "□是　☑否"


@pytest.mark.foreign_text  # hostile text (formulas, markup) goes in on purpose
def test_slip_escapes_hostile_text(tmp_path):
    out = tmp_path / "slip.docx"
    hostile = "<w:p>{{ office }} & </w:t>\x07\x0c"
    render_slip(replace(SLIP, facts=hostile, enterprise_name="A&B<公司>"), out)
    values = table_values(out)
    assert values["企业名称"] == "A&B<公司>"
    assert "<w:p>{{ office }} & </w:t>" in values["诉求内容"]


def test_blank_slip(tmp_path):
    out = tmp_path / "blank.docx"
    blank_slip(out)
    values = table_values(out)
    assert values["编号"] == "" and values["承办单位"] == ""
    assert values["长期整改（十日一报）"] == "□是　□否"
    assert not any("{{" in v for v in values.values())


def test_the_note_quotes_the_deadlines_it_is_given(tmp_path):
    out = tmp_path / "slip.docx"
    render_slip(replace(SLIP, status_days=5, result_days=20, long_term_days=15), out)
    text = "\n".join(p.text for p in docx.Document(out).paragraphs)
    assert "5个工作日内报送落实情况，20日内报送办理结果" in text and "每15日报送一次" in text
    blank = tmp_path / "blank.docx"
    blank_slip(blank, status_days=5, result_days=20, long_term_days=15, office="乌海市人民政府办公室")
    document = docx.Document(blank)
    assert "5个工作日内" in "\n".join(p.text for p in document.paragraphs)
    assert document.core_properties.author == "乌海市人民政府办公室"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_filled_slip_prints_on_one_page(tmp_path):
    out = tmp_path / "slip.docx"
    render_slip(replace(SLIP, facts=SLIP.facts * 4, requirements=SLIP.requirements * 3), out)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                   check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(tmp_path)})
    pdf = (tmp_path / "slip.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
