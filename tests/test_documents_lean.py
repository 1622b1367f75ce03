"""bot.documents.lean: a .docx keeps the styles its parts use (and what they are based on) and loses
the optional parts python-docx's template brings; what is left is a consistent package that
python-docx reads back with the same text, styles and fonts."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.shared import Pt
from lxml import etree

from bot.documents.lean import DROPPED, lean_docx
from bot.documents.referral import referral_docx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def a_document() -> bytes:
    document = docx.Document()
    document.styles["Normal"].font.size = Pt(16)
    document.add_paragraph("标题", style="Heading 1")
    document.add_paragraph("正文").add_run("强调", style="Strong")
    document.add_paragraph("一项", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text = "企业名称"
    document.sections[0].header.paragraphs[0].text = "页眉"  # python-docx styles it "Header"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def style_ids(data: bytes) -> set[str]:
    root = etree.fromstring(parts(data)["word/styles.xml"])
    return {s.get(f"{W}styleId") for s in root.iter(f"{W}style")}


def test_the_used_styles_and_their_chains_stay_and_the_rest_go():
    before, after = a_document(), lean_docx(a_document())
    kept = style_ids(after)
    # used, the defaults, and what they are based on or linked to
    assert {"Heading1", "Heading1Char", "Strong", "ListBullet", "TableGrid", "Header", "Normal",
            "DefaultParagraphFont", "TableNormal", "NoList"} <= kept
    assert "Title" in style_ids(before) and "Title" not in kept
    assert len(kept) < len(style_ids(before)) / 4
    assert b"latentStyles" not in parts(after)["word/styles.xml"]
    assert len(after) < len(before) / 2


def test_the_package_stays_consistent():
    package = parts(lean_docx(a_document()))
    assert not [n for n in package if any(n == d or n.startswith(d) for d in DROPPED)]
    for name in [n for n in package if n.endswith(".rels")]:
        base = name.rsplit("_rels/", 1)[0]
        for target in re.findall(rb'Target="([^"]+)"', package[name]):
            resolved = (base + target.decode()).replace("word/../", "")
            assert resolved in package, f"{name} points at {target!r}, not in the package"
    for part in re.findall(rb'PartName="/([^"]+)"', package["[Content_Types].xml"]):
        assert part.decode() in package


def test_python_docx_reads_back_the_same_document():
    document = docx.Document(io.BytesIO(lean_docx(a_document())))
    assert [p.text for p in document.paragraphs] == ["标题", "正文强调", "一项"]
    assert [p.style.name for p in document.paragraphs] == ["Heading 1", "Normal", "List Bullet"]
    assert document.paragraphs[1].runs[1].style.name == "Strong"
    assert document.tables[0].style.name == "Table Grid"
    assert document.styles["Normal"].font.size == Pt(16)
    assert document.sections[0].header.paragraphs[0].style.name == "Header"


def test_lean_twice_changes_nothing_more():
    once = lean_docx(a_document())
    assert parts(lean_docx(once)) == parts(once)


def test_a_referral_is_a_small_attachment():
    data = referral_docx("企业诉求转办表", "编号：WHJD-2026-0001。", [("企业名称", "乌海市某某有限公司")] * 30, "办公室")
    assert len(data) < 12_000  # python-docx's template alone made it ~37 kB
    assert "stylesWithEffects" not in str(parts(data).keys())
