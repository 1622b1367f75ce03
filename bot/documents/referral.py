"""The registration a referral hands over, as a document we wrote ourselves.

A referral goes from the office's mailbox to a district government or department. Forwarding the
sender's own file would relay whatever a stranger attached (a macro document, a malformed file) with
the office's name on it; the unit gets the values the bot read, in a plain table, instead.
"""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from .cn import TITLE_FONT, official_page, set_font
from .rows import clean_text


def referral_docx(title: str, intro: str, rows: list[tuple[str, str]], office: str) -> bytes:
    """A titled two-column table (label, value) with a line saying where it came from."""
    document = Document()
    official_page(document)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_font(heading.add_run(title), TITLE_FONT, 22)
    document.add_paragraph(clean_text(intro))
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, clean_text(value)[:5000]
    document.core_properties.author = office
    document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

