"""Reading the registration form from a Word document (.docx, and .docm read as data).

The main part is walked directly (defusedxml on the checked bytes) rather than through python-docx:
python-docx repeats a merged cell in every column it spans and does not see text inside content
controls (`w:sdt`), which Word forms use for fields and checkboxes. Tables become rows of cell texts
(each `w:tc` once, spanned columns left empty); paragraphs outside tables are read as `label：value`
lines as well.
"""

from __future__ import annotations

import posixpath

from defusedxml import ElementTree

from bot.errors import FormUnreadable
from bot.forms.body import scan_lines
from bot.forms.budget import FormBudget, budget_for, over_limit
from bot.forms.labels import Grid, find_values
from bot.forms.safezip import CORRUPT_DETAIL
from bot.forms.textguard import MAX_CELL

W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CHECKED_BOX, EMPTY_BOX = "☑", "☐"
MAX_SPAN = 64  # a hostile gridSpan of 10**9 must not become a list of 10**9 empty cells

# Symbol fonts people pick boxes from (Insert > Symbol): character code -> what it shows.
SYMBOL_FONTS = {
    "wingdings": {0xA8: "□", 0x6F: "□", 0x71: "□", 0xFE: "☑", 0xFD: "☒", 0xFC: "√", 0x78: "☒"},
    "wingdings 2": {0xA3: "□", 0x52: "☑", 0x54: "☒", 0x50: "√"},
}


def read_docx(archive, *, max_rows: int = 20000, budget: FormBudget | None = None) -> dict[str, str]:
    """Raw label values from the document's tables and `label：value` paragraphs.

    `archive` is a safezip.SafeZip (or a dict of member bytes): only the parts read are inflated.
    """
    budget = budget_for(budget)
    body = _body(archive, budget.limits.max_xml_elements)
    walker = _Walker(_namespace(body), max_rows, budget)
    walker.block(body)
    return values_from_layout(walker.grid, walker.lines)


def values_from_layout(grid: Grid, lines: list[str]) -> dict[str, str]:
    """Values of a word-processor document: its table rows, then its `label：value` paragraphs."""
    values = find_values(grid)
    for key, text in scan_lines(lines).items():
        if text and (not values.get(key) or text.startswith(values[key])):
            values[key] = text  # a paragraph value running over several lines
    return values


def main_part_name(archive) -> str:
    """The officeDocument part named by _rels/.rels (word/document.xml in practice)."""
    rels = _member(archive, "_rels/.rels")
    if rels:
        for rel in _parse(rels).iter(f"{REL_NS}Relationship"):
            if rel.get("Type", "").endswith("/officeDocument"):
                return posixpath.normpath(rel.get("Target", "").lstrip("/"))
    return "word/document.xml"


def _member(archive, name: str) -> bytes | None:
    return archive.get(name) if isinstance(archive, dict) else archive.read(name)


def _body(archive, max_elements: int):
    content = _member(archive, main_part_name(archive))
    if content is None:
        raise FormUnreadable("corrupt", CORRUPT_DETAIL)
    # Count before building a tree: 99 MB of <w:p/> would become millions of elements in memory.
    # Every element has a start tag, so "<" bounds the element count from above.
    if content.count(b"<") > 2 * max_elements:
        raise over_limit("文档结构元素过多")
    root = _parse(content)
    body = next((child for child in root if child.tag.endswith("}body")), None)
    if body is None:
        raise FormUnreadable("corrupt", CORRUPT_DETAIL)
    return body


def _parse(content: bytes):
    try:
        return ElementTree.fromstring(content, forbid_dtd=True)
    except Exception:  # ParseError, or defusedxml's DTDForbidden / EntitiesForbidden
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None


def _namespace(element) -> str:
    """The WordprocessingML namespace in use (transitional or strict)."""
    if not element.tag.startswith("{"):
        raise FormUnreadable("corrupt", CORRUPT_DETAIL)
    return element.tag[: element.tag.index("}") + 1]


class _Walker:
    """Collects table rows (grid) and paragraph lines from the document body, in order."""

    def __init__(self, ns: str, max_rows: int, budget: FormBudget | None = None):
        self.w = ns
        self.max_rows = max_rows
        self.budget = budget_for(budget)
        self.grid: Grid = []
        self.lines: list[str] = []

    # -- block level: paragraphs, tables, block content controls
    def block(self, parent) -> None:
        for child in parent:
            if len(self.grid) >= self.max_rows:
                return
            tag = child.tag
            if tag == self.w + "p":
                text = self.paragraph(child)
                self.budget.spend_text(len(text))
                self.lines.append(text)
                self.grid.append([text])
            elif tag == self.w + "tbl":
                self.table(child)
            elif tag in (self.w + "sdt", self.w + "customXml", self.w + "sdtContent"):
                self.block(self._content(child))

    def table(self, tbl) -> None:
        for tr in self._children(tbl, "tr"):
            if len(self.grid) >= self.max_rows:
                return
            nested: list = []
            self.grid.append(self.row(tr, nested))
            for inner in nested:  # a table laid out inside a cell: its rows follow the outer row
                self.table(inner)

    def row(self, tr, nested: list) -> list[str]:
        cells: list[str] = [""] * self._grid_before(tr)
        for tc in self._children(tr, "tc"):
            span, continued = self._merge(tc)
            text = "" if continued else self.cell_text(tc, nested)[:MAX_CELL]
            self.budget.spend_cells()
            self.budget.spend_text(len(text))
            cells.append(text)
            cells.extend([""] * (span - 1))
        return cells

    def _children(self, parent, name: str):
        """Direct children named `name`, looking through content controls and custom XML."""
        for child in parent:
            if child.tag == self.w + name:
                yield child
            elif child.tag in (self.w + "sdt", self.w + "customXml"):
                yield from self._children(self._content(child), name)

    def _grid_before(self, tr) -> int:
        pr = tr.find(self.w + "trPr")
        before = pr.find(self.w + "gridBefore") if pr is not None else None
        return min(MAX_SPAN, _int(before.get(self.w + "val"))) if before is not None else 0

    def _merge(self, tc) -> tuple[int, bool]:
        """(columns spanned, True for the continuation of a vertical merge)."""
        pr = tc.find(self.w + "tcPr")
        if pr is None:
            return 1, False
        span = pr.find(self.w + "gridSpan")
        vmerge = pr.find(self.w + "vMerge")
        columns = min(MAX_SPAN, max(1, _int(span.get(self.w + "val")))) if span is not None else 1
        continued = vmerge is not None and vmerge.get(self.w + "val", "continue") == "continue"
        return columns, continued

    def cell_text(self, tc, nested: list) -> str:
        parts = []
        for child in tc:
            if child.tag == self.w + "p":
                parts.append(self.paragraph(child))
            elif child.tag == self.w + "tbl":
                nested.append(child)
            elif child.tag in (self.w + "sdt", self.w + "customXml"):
                parts.append(self.cell_text(self._content(child), nested))
        return "\n".join(part for part in parts if part.strip()).strip()

    # -- inline level
    def paragraph(self, p) -> str:
        out: list[str] = []
        self.inline(p, out, symbol_map=None)
        return "".join(out).strip()

    def inline(self, parent, out: list[str], symbol_map) -> None:
        w = self.w
        for child in parent:
            tag = child.tag
            if tag == w + "t":
                out.append(_map_symbols(child.text or "", symbol_map))
            elif tag == w + "r":
                self.inline(child, out, _symbol_font(child, w))
            elif tag in (w + "tab", w + "ptab"):
                out.append(" ")
            elif tag in (w + "br", w + "cr"):
                out.append("\n")
            elif tag == w + "sym":
                out.append(_symbol_char(child, w))
            elif tag == w + "fldChar":
                out.append(_legacy_checkbox(child, w))
            elif tag == w + "sdt":
                self._inline_sdt(child, out, symbol_map)
            elif tag in (w + "instrText", w + "delText", w + "rPr", w + "pPr", MC_FALLBACK):
                continue
            else:
                self.inline(child, out, symbol_map)  # hyperlinks, insertions, smart tags...

    def _inline_sdt(self, sdt, out: list[str], symbol_map) -> None:
        pr = sdt.find(self.w + "sdtPr")
        box = pr.find(W14 + "checkbox") if pr is not None else None
        if box is not None:
            checked = box.find(W14 + "checked")
            on = checked is not None and checked.get(W14 + "val", "1") in ("1", "true", "on")
            out.append(CHECKED_BOX if on else EMPTY_BOX)
        elif pr is None or pr.find(self.w + "showingPlcHdr") is None:
            self.inline(self._content(sdt), out, symbol_map)  # placeholder text reads as empty

    def _content(self, element):
        if element.tag == self.w + "sdt":
            pr = element.find(self.w + "sdtPr")
            if pr is not None and pr.find(self.w + "showingPlcHdr") is not None:
                return ()
            content = element.find(self.w + "sdtContent")
            return content if content is not None else ()
        return element


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _symbol_font(run, w: str) -> dict | None:
    pr = run.find(w + "rPr")
    fonts = pr.find(w + "rFonts") if pr is not None else None
    if fonts is None:
        return None
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        table = SYMBOL_FONTS.get((fonts.get(w + attr) or "").lower())
        if table:
            return table
    return None


def _map_symbols(text: str, table: dict | None) -> str:
    if not table:
        return text
    return "".join(table.get(ord(ch) & 0xFF, ch) if ord(ch) < 0x100 or ord(ch) >= 0xF000 else ch
                   for ch in text)


def _symbol_char(sym, w: str) -> str:
    table = SYMBOL_FONTS.get((sym.get(w + "font") or "").lower(), {})
    try:
        code = int(sym.get(w + "char") or "", 16) & 0xFF
    except ValueError:
        return ""
    return table.get(code, "")


def _legacy_checkbox(fld, w: str) -> str:
    """A FORMCHECKBOX field of old Word forms: its state lives in w:ffData."""
    box = fld.find(f"{w}ffData/{w}checkBox")
    if box is None:
        return ""
    state = box.find(w + "checked")
    if state is None:
        state = box.find(w + "default")
        if state is None:
            return EMPTY_BOX
    return CHECKED_BOX if state.get(w + "val", "1") in ("1", "true", "on") else EMPTY_BOX
