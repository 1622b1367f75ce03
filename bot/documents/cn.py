"""Chinese date and time wording for the documents (公文 style: 2026年12月22日, 星期二, 9:00)."""

from __future__ import annotations

from datetime import date

_WEEKDAYS = "一二三四五六日"


def cn_date(d: date | None) -> str:
    """2026年12月22日; an empty string for a missing date so a template prints nothing."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def cn_month_day(d: date | None) -> str:
    """12月22日: used where the year is clear from the context (the registration window)."""
    return f"{d.month}月{d.day}日" if d else ""


def cn_weekday(d: date) -> str:
    """星期二 for 2026-12-22 (Monday is 星期一, Sunday 星期日)."""
    return "星期" + _WEEKDAYS[d.weekday()]


def cn_time(hhmm: str) -> str:
    """09:00 -> 9:00: official notices drop the leading zero of the hour."""
    hours, _, minutes = hhmm.strip().partition(":")
    if not hours.isdigit():
        return hhmm.strip()
    return f"{int(hours)}:{minutes}" if minutes else str(int(hours))


def cn_span(first: date, last: date, full: bool = False) -> str:
    """x月x日至x月x日, with the years spelled out when the span crosses a year end; `full`: the
    first year always (2026年11月24日至12月15日)."""
    if first.year != last.year:
        return f"{cn_date(first)}至{cn_date(last)}"
    return f"{cn_date(first) if full else cn_month_day(first)}至{cn_month_day(last)}"


def iso(d: date | None) -> str:
    """2026-12-22, or an empty string: the plain form used in tables and the public export."""
    return d.isoformat() if d else ""


# ---------------------------------------------------------------- typography of official documents
# Word picks the East Asian font from w:eastAsia, not from font.name; both are set so a machine
# without the 公文 fonts (仿宋_GB2312, 方正小标宋) still shows Chinese in a close substitute.

BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"


def set_font(target, name: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    """Set Latin and East Asian font of a python-docx style or run."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    target.font.name = name
    rpr = target.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if size_pt is not None:
        target.font.size = Pt(size_pt)
    if bold is not None:
        target.font.bold = bold


def official_page(document) -> None:
    """A4 with the margins of GB/T 9704 (党政机关公文格式) and a 仿宋 三号 body."""
    from docx.shared import Cm

    for section in document.sections:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    set_font(document.styles["Normal"], BODY_FONT, 16)


def set_properties(document, title: str, author: str) -> None:
    """Document properties name the office and the document, not the library that wrote it."""
    props = document.core_properties
    props.author = props.last_modified_by = author or title
    props.title = title
    props.comments = props.keywords = ""
