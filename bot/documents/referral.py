"""The registration a referral hands over, as a document we wrote ourselves.

A referral goes from the office's mailbox to a district government or department. Forwarding the
sender's own file would relay whatever a stranger attached (a macro document, a malformed file) with
the office's name on it; the unit gets the values the bot read, in a plain table, instead.

python-docx lays the document out once (page, fonts, table style) with marker texts: a skeleton.
Each referral then copies the skeleton's document body, puts its own texts where the markers are,
and appends it to a package of the skeleton's other parts (styles, settings, theme), zipped once
and without what python-docx's template brings and the document does not use (bot.documents.lean).
Opening python-docx's default template and compressing its 800 kB of styles again took ~20 ms
per referral, the largest single cost of answering a backlog; filling the skeleton takes ~0.4 ms.
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from lxml import etree

from .cn import TITLE_FONT, official_page, set_font
from .lean import lean_docx
from .rows import clean_text

BODY, CORE = "word/document.xml", "docProps/core.xml"
# Marker texts of the skeleton: each stands alone in its run, and none can come from a form.
MARK = "\u2460"
TITLE, INTRO, LABEL, VALUE = f"{MARK}TITLE", f"{MARK}INTRO", f"{MARK}LABEL", f"{MARK}VALUE"
AUTHOR, DOC_TITLE = f"{MARK}AUTHOR", f"{MARK}DOCTITLE"
MAX_VALUE = 5000  # characters of one value in the table


def referral_docx(title: str, intro: str, rows: list[tuple[str, str]], office: str) -> bytes:
    """A titled two-column table (label, value) with a line saying where it came from."""
    skeleton = _skeleton()
    body = parse_xml(skeleton.body)
    texts = _marked_texts(body)
    _put(texts[TITLE], title)
    _put(texts[INTRO], clean_text(intro))
    template_row = _ancestor(texts[LABEL], qn("w:tr"))
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
    """The layout, made once per process by python-docx, with marker texts to fill."""
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
    lean, rest = io.BytesIO(lean_docx(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(lean) as package, zipfile.ZipFile(rest, "w", zipfile.ZIP_DEFLATED) as kept:
        for info in package.infolist():
            if info.filename not in (BODY, CORE):
                kept.writestr(info, package.read(info))
        infos = {name: package.getinfo(name) for name in (BODY, CORE)}
        body, core = package.read(BODY), package.read(CORE)
    return _Skeleton(rest.getvalue(), infos, body, core)


def _marked_texts(element) -> dict:
    """The text nodes (w:t) under `element` whose whole text is a marker, by marker."""
    return {t.text: t for t in element.iter(qn("w:t")) if t.text and t.text[0] == MARK}


_SPACE = qn("xml:space")
_RUN_BREAKS = frozenset("\t\n\r")  # python-docx writes them as w:tab / w:br elements


def _put(t, text: str) -> None:
    """Put `text` in place of the marker text node `t`. Plain text goes straight into the node
    (python-docx's run.text clears the run by XPath and rebuilds it: ~60 % of a referral's time);
    text with tabs or line breaks goes through python-docx, which makes them elements."""
    if not text:
        t.getparent().remove(t)  # an empty run, as python-docx leaves it
    elif _RUN_BREAKS.isdisjoint(text):
        t.text = text
        if text != text.strip():  # leading or trailing spaces survive only with xml:space
            t.set(_SPACE, "preserve")
    else:
        t.getparent().text = text


def _ancestor(element, tag: str):
    while element.tag != tag:
        element = element.getparent()
    return element


def _xml_text(text: str) -> bytes:
    """`text` as it stands in an XML text node (core.xml is filled by replacing the markers)."""
    return clean_text(escape(text)).encode("utf-8")
