"""Which reader reads an attachment, chosen by its content (`sniff`), never by its file name.

Zip-based Office files go through safezip; legacy binaries are parsed in-process by pure-Python
readers (xlrd, our Word 97 reader); PDFs and images are read in an isolated child process (PDFium,
OCR) under time and memory limits. Archives are opened one level deep. Everything draws from the
mail's FormBudget.

The third-party libraries are imported where they are used, on first use: xlrd, olefile and py7zr
only by a mail that needs them (5-90 ms and 0.1-6 MB each, once per worker), PDFium and the OCR
model only in the child process. python-calamine is the exception: most forms are .xlsx and it
reads the ordinary ones (bot.forms.xlsx), so the mail workers import it before they report ready
(`preload_usual_readers`). openpyxl, which reads the workbooks calamine leaves alone, loads with the
first of those (bot.forms.xlsx.openpyxl_module: ~0.1 s of a worker's start that most never need).
The process that runs the intake reads no form itself and imports none of them.
"""

from __future__ import annotations

from bot.errors import FormUnreadable
from bot.forms.archive import read_archive
from bot.forms.body import MIN_LABELS, read_body_values
from bot.forms.budget import FormBudget
from bot.forms.docx import read_docx, values_from_layout
from bot.forms.isolated import read_isolated
from bot.forms.raw import RawValues
from bot.forms.refusals import unreadable
from bot.forms.safezip import CORRUPT_DETAIL, SafeZip, stored_zip
from bot.forms.sniff import ole_kind, sniff
from bot.forms.word97 import read_word97
from bot.forms.xls import read_xls
from bot.forms.xlsx import read_xlsx


def preload_usual_readers() -> None:
    """Import what reading the usual formats needs, in a process about to read forms: calamine for
    .xlsx forms; .docx and mail bodies need nothing more than this module."""
    import python_calamine  # noqa: F401 - deferred to here: the intake's own process imports this module too


def read_values(data: bytes, budget: FormBudget, *, nested: bool = False) -> RawValues:
    """Raw label values of one file; raises FormUnreadable (reason tag + Chinese detail)."""
    if not data:
        raise unreadable("empty")
    kind = sniff(data)
    try:
        return _read_kind(kind, data, budget, nested)
    except RecursionError:  # absurdly nested XML
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None


def _read_kind(kind: str, data: bytes, budget: FormBudget, nested: bool) -> RawValues:
    rows = budget.limits.max_rows
    if kind in ("xlsx", "xlsm"):
        # openpyxl opens the zip itself: give it the checked members, stored uncompressed
        stored = stored_zip(SafeZip(data, budget=budget).read_all())
        return RawValues(read_xlsx(stored, max_rows=rows, budget=budget), "xlsx")
    if kind in ("docx", "docm"):
        return RawValues(read_docx(SafeZip(data, budget=budget), max_rows=rows, budget=budget), "docx")
    if kind == "ole":
        return _read_ole(data, budget)
    if kind in ("pdf", "image"):
        return read_isolated(kind, data, budget)
    if kind in ("zip", "7z") and not nested:
        return read_archive(data, kind, budget, lambda member, _name: read_values(member, budget, nested=True),
                            MIN_LABELS)
    if kind == "text":
        return RawValues(read_body_values(decode_text(data)) or {}, "body")
    raise unreadable(_refusal(kind, data, nested))


def _read_ole(data: bytes, budget: FormBudget) -> RawValues:
    inner = ole_kind(data)
    if inner == "encrypted":
        raise unreadable("encrypted")
    if inner == "doc":
        text = read_word97(data, budget)
        return RawValues(values_from_layout(text.grid, text.lines), "doc")
    if inner == "xls":
        return RawValues(read_xls(data, max_rows=budget.limits.max_rows, budget=budget), "xls")
    raise unreadable("old-format")


def _refusal(kind: str, data: bytes, nested: bool) -> str:
    if kind in ("zip", "7z") and nested:
        return "nested-archive"
    if kind in ("rar", "rtf"):
        return kind
    return "unknown"


def decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
