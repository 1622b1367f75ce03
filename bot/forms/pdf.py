"""PDF pages as positioned text, read with PDFium (pypdfium2) inside the isolated child process.

A PDF exported from Word or WPS has a text layer: its characters with their boxes are grouped into
runs (a wide gap starts a new cell), so a table row gives label and value side by side even with a
seal image drawn over it. A page without text (a scan) is rendered and goes to OCR.

Before PDFium sees the file, `precheck` bounds what it could be made to do: the number of objects,
the bytes its Flate streams inflate to (counted, chunk by chunk, against the mail's budget) and the
pixel size of its images. Encrypted PDFs are refused.
"""

from __future__ import annotations

import bisect
import re
import zlib

from bot.errors import FormUnreadable
from bot.forms.budget import over_limit
from bot.forms.labels import match_label
from bot.forms.layout import Item
from bot.forms.refusals import unreadable

MAX_OBJECTS = 50_000
MIN_TEXT_CHARS = 1  # a page with no text at all is a scan (or a photo in a PDF), read by OCR
RENDER_SIDE = 1400  # pixels of the longer side of a page rendered for OCR (~120 dpi for A4)
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_STREAM = re.compile(rb"stream\r?\n")
_SIZE = re.compile(rb"/(Width|Height)\s+(\d{1,9})")
_CHUNK = 1 << 16
COLUMN_GAP = 1.5  # a gap wider than this many line heights separates table columns
SPACED_LABEL_GAP = 4.0  # ...but 职　　务 is one label, spread by spaces


def precheck(data: bytes, inflate_left: int, max_pixels: int) -> int:
    """Bytes the Flate streams inflate to; raises over the limits. Linear in the file size."""
    if sum(1 for _ in _OBJ.finditer(data)) > MAX_OBJECTS:
        raise over_limit("PDF 对象数量过多")
    ends = [match.start() for match in re.finditer(rb"endstream", data)]
    total = streams = 0
    for match in _STREAM.finditer(data):
        streams += 1
        if streams > MAX_OBJECTS:
            raise over_limit("PDF 对象数量过多")
        head = data[max(0, match.start() - 400):match.start()]
        dictionary = head[head.rfind(b"<<"):]
        _check_image_size(dictionary, max_pixels)
        if b"FlateDecode" in dictionary:
            end = ends[bisect.bisect_left(ends, match.end())] if ends and ends[-1] >= match.end() else len(data)
            total += _inflated_size(memoryview(data)[match.end():end], inflate_left - total)
    return total


def _check_image_size(dictionary: bytes, max_pixels: int) -> None:
    sizes = dict(_SIZE.findall(dictionary))
    if b"Width" in sizes and b"Height" in sizes:
        if int(sizes[b"Width"]) * int(sizes[b"Height"]) > max_pixels:
            raise over_limit("图片像素过大")


def _inflated_size(stream: memoryview, left: int) -> int:
    """Inflate one stream, counting the output in bounded steps; stop past `left`."""
    inflater = zlib.decompressobj()
    produced = 0
    try:
        for start in range(0, len(stream), _CHUNK):
            chunk = bytes(stream[start:start + _CHUNK])
            while chunk and not inflater.eof:
                produced += len(inflater.decompress(chunk, _CHUNK))
                if produced > left:
                    raise over_limit("PDF 解压后大小超限")
                chunk = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        pass  # a damaged stream: PDFium will judge the file
    return produced


def open_pdf(data: bytes, max_pages: int):
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise unreadable("encrypted" if "password" in str(exc).lower() else "corrupt") from None
    if len(document) > max_pages:
        raise over_limit("PDF 页数过多")
    return document


def text_items(page) -> list[Item]:
    """The page's characters grouped into runs with their boxes (top-left origin, points)."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    height = page.get_height()
    chars = []
    for i in range(min(textpage.count_chars(), 200_000)):
        if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
            continue  # spaces and line breaks PDFium guessed, not in the file
        code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
        if code in (0, 0x0A, 0x0D, 0xFFFE, 0xFFFF):
            continue
        # loose boxes span the font's ascent to descent: one height for every glyph of a line
        left, bottom, right, top = textpage.get_charbox(i, loose=True)
        chars.append(("-" if code == 0x02 else chr(code), left, height - top, right, height - bottom))
    return _runs(chars)


def _reading_order(chars) -> list:
    """Characters by line, left to right: symbol glyphs (☑ from another font) are often stored
    after the text they stand in front of."""
    lines: list[list] = []
    for char in sorted(chars, key=lambda c: (c[2] + c[4]) / 2):
        middle, size = (char[2] + char[4]) / 2, max(char[4] - char[2], 1.0)
        if lines and abs(middle - lines[-1][0][0]) < 0.5 * max(size, lines[-1][0][1]):
            lines[-1].append(char)
        else:
            lines.append([(middle, size), char])
    return [char for line in lines for char in sorted(line[1:], key=lambda c: c[1])]


def _runs(chars) -> list[Item]:
    """Characters of one line with small gaps form a run; a wide gap (a table column) ends it."""
    items: list[Item] = []
    for ch, x0, y0, x1, y1 in _reading_order(chars):
        last = items[-1] if items else None
        # a glyph box is tight (a full stop is tiny): measure gaps against the run's height
        size = max(y1 - y0, last.y1 - last.y0 if last else 0.0, 1.0)
        same_line = last is not None and abs((last.y0 + last.y1) / 2 - (y0 + y1) / 2) < size * 0.5
        gap = x0 - last.x1 if last is not None else 0.0
        if last is not None and same_line and -size < gap < size * COLUMN_GAP:
            if ch.isspace() and last.text.endswith(" "):
                continue
            if gap > 0.25 * size and not ch.isspace() and not last.text.endswith(" "):
                last.text += " "  # a space the file draws as a gap, not as a character
            last.text += ch
            last.x1, last.y0, last.y1 = max(last.x1, x1), min(last.y0, y0), max(last.y1, y1)
        elif not ch.isspace():
            items.append(Item(x0, y0, x1, y1, ch))
    for item in items:
        item.text = item.text.strip()
    return _spaced_labels(items)


def _spaced_labels(items: list[Item]) -> list[Item]:
    """Join runs of one line that only together spell a label (职　　务, 联 系 人)."""

    out: list[Item] = []
    for item in items:
        last = out[-1] if out else None
        if (last is not None and abs(last.y0 - item.y0) < 0.5 * last.height
                and 0 < item.x0 - last.x1 < SPACED_LABEL_GAP * last.height
                and not match_label(last.text) and match_label(last.text + item.text)):
            last.text += item.text
            last.x1 = item.x1
        else:
            out.append(item)
    return out


def page_text_size(items: list[Item]) -> int:
    return sum(len(item.text) for item in items)


def render(page, max_pixels: int):
    """The page as a PIL image, its longer side RENDER_SIDE pixels (never more than max_pixels)."""
    width, height = page.get_size()
    scale = RENDER_SIDE / max(width, height, 1.0)
    if width * height * scale * scale > max_pixels:
        raise FormUnreadable("over-limits", "")
    return page.render(scale=scale).to_pil()
