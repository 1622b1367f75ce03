"""The registration a referral hands over, as a document we wrote ourselves.

A referral goes from the office's mailbox to a district government or department. Forwarding the
sender's own file would relay whatever a stranger attached (a macro document, a malformed file) with
the office's name on it; the unit gets the values the bot read, in a plain table, instead.

python-docx lays the document out (page, fonts, table style) with marker texts: a skeleton, made
by `build_skeleton` and stored with the code (skeletons/referral.docx; `python -m
bot.documents.referral` writes it again, and a test holds it to what build_skeleton makes). Each
referral copies the skeleton's document body, puts its own texts where the markers are, and
appends it to a package of the skeleton's other parts (styles, settings, theme), zipped once and
without what python-docx's template brings and the document does not use (bot.documents.lean).
Opening python-docx's default template and compressing its 800 kB of styles again took ~20 ms
per referral, the largest single cost of answering a backlog; filling the skeleton takes ~0.3 ms.
Stored, the skeleton costs a command neither python-docx's import (~30 ms) nor the layout (~25 ms)
before its first referral: both were on the way to a backlog's first answers.
"""

from __future__ import annotations

import copy
import io
import re
import sys
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from lxml import etree

from .lean import W, lean_docx
from .rows import clean_text

BODY, CORE = "word/document.xml", "docProps/core.xml"
STORED = Path(__file__).parent / "skeletons" / "referral.docx"
# Marker texts of the skeleton: each stands alone in its run, and none can come from a form.
MARK = "\u2460"
# In Chinese: the stored skeleton is a document of the package, and its texts are checked as such.
TITLE, INTRO, LABEL, VALUE = f"{MARK}标题", f"{MARK}说明", f"{MARK}项目", f"{MARK}内容"
AUTHOR, DOC_TITLE = f"{MARK}制表单位", f"{MARK}文档标题"
MAX_VALUE = 5000  # characters of one value in the table


def referral_docx(title: str, intro: str, rows: list[tuple[str, str]], office: str) -> bytes:
    """A titled two-column table (label, value) with a line saying where it came from."""
    skeleton = _skeleton()
    body = etree.fromstring(skeleton.body, _PARSER)
    texts = _marked_texts(body)
    _put(texts[TITLE], title)
    _put(texts[INTRO], clean_text(intro))
    template_row = _ancestor(texts[LABEL], _TR)
    for label, value in rows:
        row = copy.deepcopy(template_row)
        cells = _marked_texts(row)
        _put(cells[LABEL], label)
        _put(cells[VALUE], clean_text(value)[:MAX_VALUE])
        template_row.addprevious(row)
    template_row.getparent().remove(template_row)
    core = skeleton.core.replace(_xml_text(AUTHOR), _xml_text(office)).replace(
        _xml_text(DOC_TITLE), _xml_text(title))
    out = io.BytesIO(skeleton.rest)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as package:
        package.writestr(skeleton.infos[CORE], core)
        package.writestr(skeleton.infos[BODY], etree.tostring(
            body, xml_declaration=True, encoding="UTF-8", standalone=True))
    return out.getvalue()


@dataclass(frozen=True)
class _Skeleton:
    rest: bytes  # a package of every part but BODY and CORE, compressed once
    infos: dict[str, zipfile.ZipInfo]  # of BODY and CORE
    body: bytes
    core: bytes


@lru_cache(maxsize=1)
def _skeleton() -> _Skeleton:
    """The stored skeleton, split once per process into the parts filled per referral and the rest."""
    rest = io.BytesIO()
    with zipfile.ZipFile(STORED) as package, zipfile.ZipFile(rest, "w", zipfile.ZIP_DEFLATED) as kept:
        for info in package.infolist():
            if info.filename not in (BODY, CORE):
                kept.writestr(info, package.read(info))
        infos = {name: package.getinfo(name) for name in (BODY, CORE)}
        body, core = package.read(BODY), package.read(CORE)
    return _Skeleton(rest.getvalue(), infos, body, core)


def build_skeleton() -> bytes:
    """The layout, made by python-docx with marker texts to fill, as a lean package: what STORED
    holds."""
    # Not at the top: python-docx's import and the layout are needed only to write STORED again.
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    from .cn import TITLE_FONT, official_page, set_font  # start-up: only to write STORED again

    document = Document()
    official_page(document)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(heading.add_run(TITLE), TITLE_FONT, 22)
    document.add_paragraph(INTRO)
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    cells = table.add_row().cells
    cells[0].text, cells[1].text = LABEL, VALUE
    document.core_properties.author = AUTHOR
    document.core_properties.title = DOC_TITLE
    out = io.BytesIO()
    document.save(out)
    return lean_docx(out.getvalue())


def _marked_texts(element) -> dict:
    """The text nodes (w:t) under `element` whose whole text is a marker, by marker."""
    return {t.text: t for t in element.iter(_T) if t.text and t.text[0] == MARK}


# The skeleton is our own file, parsed as python-docx parses a part (its run XML is compared with
# python-docx's in the tests): without blank text, and no entity resolved.
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False)
_T, _TR, _RPR, _TAB, _BR = (f"{{{W}}}{tag}" for tag in ("t", "tr", "rPr", "tab", "br"))
_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_RUN_BREAKS = frozenset("\t\n\r")  # python-docx writes them as w:tab / w:br elements
_BREAK = re.compile(r"([\t\r\n])")


def _put(t, text: str) -> None:
    """Put `text` in place of the marker text node `t`, as python-docx's `run.text = text` would:
    plain text straight into the node; text with tabs or line breaks as a run of its own
    (_run_text)."""
    if not text:
        t.getparent().remove(t)  # an empty run, as python-docx leaves it
    elif _RUN_BREAKS.isdisjoint(text):
        _set_text(t, text)
    else:
        _run_text(t.getparent(), text)


def _set_text(t, text: str) -> None:
    t.text = text
    if text != text.strip():  # leading or trailing spaces survive only with xml:space
        t.set(_SPACE, "preserve")


def _run_text(run, text: str) -> None:
    """The run's content made again from `text`, as python-docx makes it: its properties kept, a
    w:tab for each tab, a w:br for each carriage return or line feed, a w:t for the text between."""
    for child in [c for c in run if c.tag != _RPR]:
        run.remove(child)
    for piece in _BREAK.split(text):
        if piece == "\t":
            etree.SubElement(run, _TAB)
        elif piece in ("\r", "\n"):
            etree.SubElement(run, _BR)
        elif piece:
            _set_text(etree.SubElement(run, _T), piece)


def _ancestor(element, tag: str):
    while element.tag != tag:
        element = element.getparent()
    return element


def _xml_text(text: str) -> bytes:
    """`text` as it stands in an XML text node (core.xml is filled by replacing the markers)."""
    return clean_text(escape(text, quote=False)).encode("utf-8")


if __name__ == "__main__":  # writes the stored skeleton again after a change of build_skeleton
    STORED.parent.mkdir(exist_ok=True)
    STORED.write_bytes(build_skeleton())
    print(f"wrote {STORED}", file=sys.stderr)
