"""企业诉求转办表: the document a referral carries, filled from a skeleton, read back with python-docx."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from bot.documents.cn import BODY_FONT, TITLE_FONT
from bot.documents.referral import INTRO, LABEL, MAX_VALUE, TITLE, VALUE, referral_docx

OFFICE = "乌海市人民政府办公室 & 营商环境科"
ROWS = [("企业名称", "乌海市某某化工有限公司"), ("统一社会信用代码", "91150300MA0N000000"),
        ("基本情况", "第一行\n第二行\t（制表）<b>&amp;</b>"), ("联系人", "")]


def read(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def test_title_intro_and_every_row_read_back():
    document = read(referral_docx("企业诉求转办表", "编号：WHJD-2026-0001。以下内容\x07由办公室整理。",
                                  ROWS, OFFICE))
    title, intro = document.paragraphs[0], document.paragraphs[1]
    assert title.text == "企业诉求转办表"
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].font.name == TITLE_FONT and title.runs[0].font.size == Pt(22)
    assert intro.text == "编号：WHJD-2026-0001。以下内容由办公室整理。"  # the control character is dropped
    table = document.tables[0]
    assert table.style.name == "Table Grid"
    assert [[cell.text for cell in row.cells] for row in table.rows] == [list(r) for r in ROWS]
    assert document.styles["Normal"].font.name == BODY_FONT
    assert document.core_properties.author == OFFICE
    assert document.core_properties.title == "企业诉求转办表"


def test_each_call_starts_from_the_clean_skeleton():
    first = read(referral_docx("甲", "一", ROWS, OFFICE))
    second = read(referral_docx("乙", "二", [("标签", "值")], "另一办公室"))
    assert len(first.tables[0].rows) == len(ROWS)
    assert [[c.text for c in row.cells] for row in second.tables[0].rows] == [["标签", "值"]]
    assert second.paragraphs[0].text == "乙" and second.core_properties.author == "另一办公室"


def test_marker_texts_from_a_sender_are_plain_values_and_none_is_left_over():
    rows = [(LABEL, VALUE), ("说明", TITLE + INTRO)]
    data = referral_docx("转办表", "说明", rows, OFFICE)
    document = read(data)
    assert [[c.text for c in row.cells] for row in document.tables[0].rows] == [list(r) for r in rows]
    assert document.paragraphs[0].text == "转办表"
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        core = package.read("docProps/core.xml").decode()
    assert "\u2460" not in core


def test_an_empty_table_and_a_long_value_is_cut():
    document = read(referral_docx("转办表", "", [("情况", "字" * (MAX_VALUE + 10))], OFFICE))
    assert len(document.tables[0].rows[0].cells[1].text) == MAX_VALUE
    assert len(read(referral_docx("转办表", "", [], OFFICE)).tables[0].rows) == 0


def test_a_value_is_written_as_python_docx_writes_a_run_text():
    """The fast path (plain text straight into the marker's text node) gives the same run XML
    as python-docx's run.text, spaces at the ends kept (xml:space) and breaks made elements."""
    from docx.oxml.ns import qn
    from docx.oxml.parser import parse_xml
    from lxml import etree

    from bot.documents.referral import _put, _skeleton

    def run_of(text: str, fast: bool) -> bytes:
        body = parse_xml(_skeleton().body)
        [t] = [t for t in body.iter(qn("w:t")) if t.text == VALUE]
        run = t.getparent()
        if fast:
            _put(t, text)
        else:
            run.text = text
        return etree.tostring(run)

    for text in ["乌海市某某化工有限公司", " 前后有空格 ", "末尾空格 ", "第一行\n第二行\t制表", ""]:
        assert run_of(text, fast=True) == run_of(text, fast=False), text
    assert b'xml:space="preserve"' in run_of(" 前后有空格 ", fast=True)
