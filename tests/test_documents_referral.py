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
    """The values go in without python-docx, and give the same run XML as its run.text: spaces at
    the ends kept (xml:space), tabs and line breaks made elements, the run's properties kept."""
    from docx.oxml.ns import qn
    from docx.oxml.parser import parse_xml
    from lxml import etree

    from bot.documents.referral import _PARSER, _put, _skeleton

    def run_of(text: str, ours: bool, marker: str = VALUE) -> bytes:
        xml = _skeleton().body
        body = etree.fromstring(xml, _PARSER) if ours else parse_xml(xml)
        [t] = [t for t in body.iter(qn("w:t")) if t.text == marker]
        run = t.getparent()
        if ours:
            _put(t, text)
        else:
            run.text = text
        return etree.tostring(run)

    for text in ["乌海市某某化工有限公司", " 前后有空格 ", "末尾空格 ", "第一行\n第二行\t制表",
                 "\r\n两端换行 \t", "\t", ""]:
        assert run_of(text, ours=True) == run_of(text, ours=False), text
    assert b'xml:space="preserve"' in run_of(" 前后有空格 ", ours=True)
    # the title's run has properties (its font): they stay, before the new content
    title = run_of("标题\n第二行", ours=True, marker=TITLE)
    assert title == run_of("标题\n第二行", ours=False, marker=TITLE)
    assert title.index(b"<w:rPr>") < title.index(b"<w:br/>")


def test_the_stored_skeleton_is_what_the_layout_code_makes():
    """skeletons/referral.docx is written by `python -m bot.documents.referral`: a change of the
    layout (build_skeleton, bot.documents.cn) without writing it again fails here."""
    from bot.documents.referral import STORED, build_skeleton

    with zipfile.ZipFile(io.BytesIO(build_skeleton())) as made, zipfile.ZipFile(STORED) as stored:
        assert made.namelist() == stored.namelist()
        for name in made.namelist():
            assert made.read(name) == stored.read(name), name


def test_a_referral_needs_no_python_docx(tmp_path):
    """Stored, the skeleton spares the intake python-docx's import and the layout: neither was
    needed for anything else before a backlog's first answers."""
    import subprocess
    import sys

    code = ("import sys; from bot.documents.referral import referral_docx; "
            "data = referral_docx('企业诉求转办表', '说明', [('企业名称', '某公司')], '办公室'); "
            "print(len(data), sorted(m for m in sys.modules if m.split('.')[0] in ('docx', 'docxtpl')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout.split()
    assert int(out[0]) > 5000 and out[1:] == ["[]"]
