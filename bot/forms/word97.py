"""Reading the form from a Word 97-2003 binary document: `.doc`, and WPS `.wps` (the same format).

The text of a .doc is stored in pieces listed by the piece table (the Clx in the table stream);
each piece is UTF-16LE or 8-bit "compressed" text. Tables are plain text too: every cell ends with
\\x07, and a row ends with one more \\x07 whose paragraph carries the `fTtp` property. That property
lives in the paragraph FKPs (PlcBtePapx), which we read to tell a row end from an empty cell.
Field codes (\\x13 instructions \\x14 result \\x15) keep only their result. Nothing is executed.

Every offset comes from the file, so every one is checked: a corrupt or hostile piece table makes
the document FormUnreadable("corrupt") quickly, never a loop or an allocation the file asks for.
olefile opens the OLE container (pure Python).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget
from bot.forms.safezip import CORRUPT_DETAIL, ENCRYPTED_DETAIL
from bot.forms.textguard import MAX_CELL

MAX_PIECES = 100_000
MAX_FKPS = 20_000
MAX_STREAM = 64 * 2**20  # a form's WordDocument stream is a few hundred KB
FIB_MAGIC = 0xA5EC
FC_CLX, FC_PAPX = 33, 13  # indexes into FibRgFcLcb97
SPRM_IN_TABLE, SPRM_TTP = 0x2416, 0x2417
SPRM_DEF_TABLE, SPRM_CHG_TABS = 0xD608, 0xC615
_OPERAND = {0: 1, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2, 7: 3}
_DROP = set("\x01\x02\x03\x04\x05\x08")  # pictures, footnote and annotation marks, drawn objects


@dataclass
class Word97Text:
    grid: list[list[str]] = field(default_factory=list)  # table rows, and paragraphs as 1-cell rows
    lines: list[str] = field(default_factory=list)  # paragraphs outside tables


def corrupt() -> FormUnreadable:
    return FormUnreadable("corrupt", CORRUPT_DETAIL)


def read_word97(data: bytes, budget: FormBudget) -> Word97Text:
    word, table = _streams(data)
    fib = _Fib(word)
    if fib.encrypted:
        raise FormUnreadable("encrypted", ENCRYPTED_DETAIL)
    table_stream = table.get(fib.table_name)
    if table_stream is None:
        raise corrupt()
    pieces = _pieces(table_stream, *fib.pair(FC_CLX), len(word))
    marks = _paragraph_marks(word, table_stream, *fib.pair(FC_PAPX))
    return _Layout(marks, budget).build(_chars(word, pieces, fib.ccp_text, budget))


def _streams(data: bytes) -> tuple[bytes, dict[str, bytes]]:
    import olefile  # deferred: only legacy attachments need it

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception:  # olefile raises OSError or its own errors on a broken container
        raise corrupt() from None
    try:
        if not ole.exists("WordDocument"):
            raise corrupt()
        streams = {}
        for name in ("WordDocument", "0Table", "1Table"):
            if ole.exists(name):
                if ole.get_size(name) > MAX_STREAM:
                    raise corrupt()
                streams[name] = ole.openstream(name).read()
        return streams.pop("WordDocument"), streams
    except FormUnreadable:
        raise
    except Exception:
        raise corrupt() from None
    finally:
        ole.close()


class _Fib:
    """The few fields of the File Information Block we need, with their offsets checked."""

    def __init__(self, word: bytes):
        if len(word) < 0x200 or _u16(word, 0) != FIB_MAGIC:
            raise corrupt()
        flags = _u16(word, 0x0A)
        self.encrypted = bool(flags & 0x0100)
        self.table_name = "1Table" if flags & 0x0200 else "0Table"
        csw = _u16(word, 32)
        lw_at = 34 + 2 * csw + 2
        cslw = _u16(word, lw_at - 2)
        if cslw < 4:
            raise corrupt()
        self.ccp_text = _u32(word, lw_at + 12)
        self.fc_at = lw_at + 4 * cslw + 2
        self.count = _u16(word, self.fc_at - 2)
        self.word = word

    def pair(self, index: int) -> tuple[int, int]:
        if index >= self.count:
            return 0, 0
        at = self.fc_at + 8 * index
        return _u32(self.word, at), _u32(self.word, at + 4)


@dataclass(frozen=True)
class _Piece:
    cp_start: int
    cp_end: int
    offset: int  # byte offset in the WordDocument stream
    wide: bool  # UTF-16LE (True) or 8-bit compressed text


def _pieces(table: bytes, fc: int, lcb: int, word_size: int) -> list[_Piece]:
    """The piece table (PlcPcd) of the Clx; offsets and CPs validated."""
    clx = table[fc:fc + lcb]
    if lcb == 0 or len(clx) != lcb:
        raise corrupt()
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # Prc: skip the property modifiers
        at += 3 + _u16(clx, at + 1)
    if at + 5 > len(clx) or clx[at] != 0x02:
        raise corrupt()
    size = _u32(clx, at + 1)
    plc = clx[at + 5:at + 5 + size]
    count = (size - 4) // 12
    if len(plc) != size or count <= 0 or count > MAX_PIECES or (size - 4) % 12:
        raise corrupt()
    cps = struct.unpack_from(f"<{count + 1}I", plc)
    pieces = []
    for i in range(count):
        start, end = cps[i], cps[i + 1]
        if end < start:
            raise corrupt()
        fc_raw = _u32(plc, 4 * (count + 1) + 8 * i + 2)
        wide = not fc_raw & 0x40000000
        offset = fc_raw & 0x3FFFFFFF if wide else (fc_raw & 0x3FFFFFFF) // 2
        if offset + (end - start) * (2 if wide else 1) > word_size:
            raise corrupt()
        pieces.append(_Piece(start, end, offset, wide))
    return pieces


def _chars(word: bytes, pieces: list[_Piece], ccp_text: int, budget: FormBudget):
    """(character, file offset just after it) of the main document text, in order."""
    produced = 0
    for piece in pieces:
        if piece.cp_start >= ccp_text:
            break
        length = min(piece.cp_end, ccp_text) - piece.cp_start
        width = 2 if piece.wide else 1
        raw = word[piece.offset:piece.offset + length * width]
        text = raw.decode("utf-16-le", "replace") if piece.wide else raw.decode("cp1252", "replace")
        produced += len(text)
        budget.spend_text(len(text))
        for i, ch in enumerate(text):
            yield ch, piece.offset + (i + 1) * width
    if produced == 0:
        raise corrupt()


@dataclass
class _Marks:
    row_ends: set[int] = field(default_factory=set)  # end offsets of table-row-end paragraphs
    in_table: set[int] = field(default_factory=set)  # end offsets of paragraphs inside tables
    known: bool = False  # False when the FKPs could not be read: guess rows from the text


def _paragraph_marks(word: bytes, table: bytes, fc: int, lcb: int) -> _Marks:
    marks = _Marks()
    plc = table[fc:fc + lcb]
    count = (lcb - 4) // 8 if lcb >= 12 else 0
    if len(plc) != lcb or count <= 0 or count > MAX_FKPS:
        return marks
    try:
        for i in range(count):
            pn = _u32(plc, 4 * (count + 1) + 4 * i) & 0x3FFFFF
            _read_fkp(word[pn * 512:pn * 512 + 512], marks)
    except (struct.error, IndexError, ValueError):
        return _Marks()  # unreadable properties: fall back to the text heuristic
    marks.known = True
    return marks


def _read_fkp(page: bytes, marks: _Marks) -> None:
    if len(page) != 512:
        raise ValueError("short FKP")
    crun = page[511]
    if 4 * (crun + 1) + 13 * crun > 511:
        raise ValueError("bad crun")
    ends = struct.unpack_from(f"<{crun + 1}I", page)
    for i in range(crun):
        offset = page[4 * (crun + 1) + 13 * i] * 2
        if offset == 0:
            continue
        in_table, ttp = _table_flags(page, offset)
        if in_table:
            marks.in_table.add(ends[i + 1])
        if ttp:
            marks.row_ends.add(ends[i + 1])


def _table_flags(page: bytes, offset: int) -> tuple[bool, bool]:
    """(fInTable, fTtp) from one PapxInFkp's grpprl."""
    cb = page[offset]
    if cb:
        start, size = offset + 1, 2 * cb - 1
    else:
        start, size = offset + 2, 2 * page[offset + 1]
    grpprl = page[start + 2:start + size]  # after the 2-byte istd
    in_table = ttp = False
    at = 0
    while at + 2 <= len(grpprl):
        sprm = _u16(grpprl, at)
        at += 2
        if sprm in (SPRM_IN_TABLE, SPRM_TTP) and at < len(grpprl):
            in_table |= sprm == SPRM_IN_TABLE and grpprl[at] == 1
            ttp |= sprm == SPRM_TTP and grpprl[at] == 1
        at += _operand_size(sprm, grpprl, at)
    return in_table, ttp


def _operand_size(sprm: int, grpprl: bytes, at: int) -> int:
    spra = sprm >> 13
    if spra != 6:
        return _OPERAND[spra]
    if at >= len(grpprl):
        return 1
    if sprm == SPRM_DEF_TABLE and at + 2 <= len(grpprl):
        return 2 + max(0, _u16(grpprl, at) - 1)
    if sprm == SPRM_CHG_TABS and grpprl[at] == 255:
        return len(grpprl)  # the rare complex form: nothing after it matters to us
    return 1 + grpprl[at]


class _Layout:
    """Turns the character stream into table rows and paragraph lines."""

    def __init__(self, marks: _Marks, budget: FormBudget):
        self.marks, self.budget = marks, budget
        self.out = Word97Text()
        self.text: list[str] = []
        self.cell_lines: list[str] = []
        self.cells: list[str] = []
        self.fields: list[bool] = []  # per open field: True while in its instructions

    def build(self, chars) -> Word97Text:
        for ch, end in chars:
            self.feed(ch, end)
        self.paragraph_end()
        self.row_end()
        return self.out

    def feed(self, ch: str, end: int) -> None:
        if ch == "\x13":
            self.fields.append(True)
        elif ch == "\x14":
            if self.fields:
                self.fields[-1] = False
        elif ch == "\x15":
            if self.fields:
                self.fields.pop()
        elif any(self.fields):
            return  # field instructions (HYPERLINK "...", FORMCHECKBOX) are not text
        elif ch == "\r":
            self.cell_paragraph() if end in self.marks.in_table else self.paragraph_end()
        elif ch == "\x07":
            self.cell_mark(end)
        elif ch in "\x0b\x0c":
            self.text.append("\n" if ch == "\x0b" else "")
        elif ch not in _DROP and len(self.text) < MAX_CELL:
            self.text.append(ch)

    def cell_paragraph(self) -> None:
        self.cell_lines.append("".join(self.text).strip())
        self.text = []

    def cell_mark(self, end: int) -> None:
        row_end = (end in self.marks.row_ends if self.marks.known
                   else not self.text and not self.cell_lines and bool(self.cells))
        if row_end:
            self.text = []
            self.row_end()
            return
        self.cell_paragraph()
        self.cells.append("\n".join(line for line in self.cell_lines if line)[:MAX_CELL])
        self.cell_lines = []
        self.budget.spend_cells()

    def row_end(self) -> None:
        if self.cells:
            self.out.grid.append(self.cells)
        self.cells = []

    def paragraph_end(self) -> None:
        if self.cells:
            self.row_end()  # a table that lost its row-end mark
        text = "".join(self.text).strip()
        self.text = []
        self.out.lines.append(text)
        self.out.grid.append([text])


def _u16(data: bytes, at: int) -> int:
    if at + 2 > len(data):
        raise corrupt()
    return struct.unpack_from("<H", data, at)[0]


def _u32(data: bytes, at: int) -> int:
    if at + 4 > len(data):
        raise corrupt()
    return struct.unpack_from("<I", data, at)[0]
