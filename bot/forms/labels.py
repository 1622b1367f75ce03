"""Labels of the registration form: normalising, matching a cell text to a JSON key, finding values.

Forms are read by label text, never by cell address (people insert rows, merge cells and reorder
sections). A reader turns a document into a grid of cell texts; `find_values` walks it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.forms.model import CANONICAL_LABELS
from bot.forms.textguard import MAX_CELL, tidy

# Accepted aliases per JSON key (forms.md). Matched as whole labels only: short ones such as 日期,
# 领域 or 理由 would otherwise fire inside ordinary values.
ALIASES: dict[str, tuple[str, ...]] = {
    "enterprise_name": ("单位名称", "企业（单位）名称", "企业(单位)名称", "公司名称"),
    "credit_code": ("社会信用代码", "信用代码", "统一社会信用代码（注册号）"),
    "district": ("所在区", "所属区域", "所在地区", "所属区"),
    "enterprise_types": ("企业类别",),
    "industry": ("行业类别", "所属行业类别"),
    "legal_representative": ("法人代表", "法定代表人（负责人）", "法人"),
    "contact_name": ("来访人", "联系人姓名"),
    "contact_title": ("联系人职务",),
    "contact_phone": ("手机", "联系方式", "手机号码", "联系人电话", "手机号"),
    "contact_email": ("邮箱", "电子邮件", "email", "e-mail", "电子信箱"),
    "attendees": ("来访人员", "参会人员", "参加接待人员（姓名、职务）"),
    "field": ("诉求类别", "问题类型", "领域"),
    "title": ("标题", "主题"),
    "facts": ("诉求内容", "反映问题", "问题描述", "事实"),
    "reasons": ("诉求理由", "理由"),
    "requests": ("诉求事项", "期望解决方式", "请求事项"),
    "suggested_departments": ("建议承办单位",),
    "meeting_format": ("希望接待方式",),
    "signed_date": ("填表日期", "日期"),
}

# A label containing one of these words is the matching declaration (forms.md), whatever its wording.
DECLARATION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("declarations.judicial", ("司法", "诉讼", "复议", "仲裁")),
    ("declarations.discipline", ("纪委", "监委", "纪检监察")),
    ("declarations.petition", ("信访",)),
    ("declarations.proposal", ("人大", "政协", "提案")),
)
# ...but only when the text reads like a question, so a short value such as 已申请仲裁 is no label.
DECLARATION_CUES = ("是否", "有无", "有没有", "是不是", "情况")

# Labels whose value may sit in the rows below them (a block), not only to their right.
BLOCK_KEYS = frozenset({"facts", "reasons", "requests", "attendees"})

CHECK_GLYPHS = "□☐√✓✔☑☒■▣✅"
MAX_LABEL_LEN = 40  # longer texts are values; also keeps traditional->simplified off long cells

_COLON = re.compile(r"[:：﹕]")
_NUMBERING = re.compile(r"^(?:\d{1,2}|[一二三四五六七八九十]{1,3})[.、)]")
_PARENS = re.compile(r"\([^()]*\)")
_TRIM_CHARS = "*:.、?!#※★☆-_ "
_TRAILING_ANSWER = re.compile(r"^(.*?\S)\s+(是|否|无|没有|有)$")
_GLYPH_START = re.compile(rf"(?:是|否)?\s?[{CHECK_GLYPHS}]")
# Section headings of a form laid out as paragraphs: 三、诉求信息 / （一）企业信息 / 第二部分 诉求内容.
# A heading is short, has no sentence punctuation, and (after a number) names a part of the form,
# so that a numbered item of a request (一、加快审批进度；) is still read as part of the value.
_HEADING_NUMBER = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[(（][一二三四五六七八九十\d]{1,3}[)）]"
                             r"|\d{1,2}[、．])\s?")
_HEADING_PART = re.compile(r"^第[一二三四五六七八九十\d]{1,3}(?:部分|章|节|篇)")
_HEADING_NOUNS = ("信息", "情况", "事项", "内容", "声明", "说明", "承诺", "概况", "资料", "材料", "部分",
                  "诉求", "基本信息", "联系方式", "备注")
_SENTENCE_MARKS = re.compile(r"[。，,；;：:！!？?]")
MAX_BLOCK = 4 * MAX_CELL  # characters of a value collected from the rows under a block label


@lru_cache(maxsize=1)
def _t2s():
    from opencc import (
        OpenCC,  # imported lazily: building the converter is the slow part
    )

    return OpenCC("t2s")


def _fold(text: str) -> str:
    """Half-width, no spaces, asterisks, colons or numbering; lower case (for e-mail)."""
    folded = unicodedata.normalize("NFKC", text)
    folded = "".join(folded.split()).replace("*", "")
    folded = folded.strip(_TRIM_CHARS).strip("【】[]").strip(_TRIM_CHARS)
    return _NUMBERING.sub("", folded).lower()


@lru_cache(maxsize=8192)
def normalize_label(text: str) -> str:
    """Fold a label to one spelling: half-width, simplified, no spaces, asterisks or colons."""
    folded = _fold(text)
    if len(folded) <= MAX_LABEL_LEN and any(ord(ch) > 0x2E80 for ch in folded):
        folded = _t2s().convert(folded)
    return folded


def _build_alias_table() -> dict[str, str]:
    table = {}
    for label, key in CANONICAL_LABELS:
        if not key.startswith("declarations."):
            table[normalize_label(label)] = key
    for key, aliases in ALIASES.items():
        for alias in aliases:
            table.setdefault(normalize_label(alias), key)
    return table


_ALIAS_TABLE = _build_alias_table()


@lru_cache(maxsize=65536)
def _is_traditional(char: str) -> bool:
    """Cached per character, so plain simplified text never pays for a whole t2s conversion."""
    return ord(char) > 0x2E80 and _t2s().convert(char) != char


def _declaration_key(label: str, question: bool) -> str | None:
    if len(label) > MAX_LABEL_LEN or "。" in label:
        return None
    if not (question or any(cue in label for cue in DECLARATION_CUES)):
        return None
    for key, words in DECLARATION_WORDS:
        if any(word in label for word in words):
            return key
    return None


# Texts up to this long may be labels (with room for spacing and marks), and only they are cached:
# a worker reads forms for as long as the daemon runs, and keeping every long answer it met would
# grow it towards its memory limit (8,192 cached answers of a few thousand characters: tens of MB).
_LABEL_TEXT = 3 * MAX_LABEL_LEN


def match_label(text: str) -> str | None:
    """The JSON key a label text stands for (e.g. `declarations.petition`), or None for a value."""
    if not text or len(text) > _LABEL_TEXT:
        return None
    return _match_label(text)


@lru_cache(maxsize=8192)
def _match_label(text: str) -> str | None:
    folded = _fold(text)
    if not folded or len(folded) > MAX_LABEL_LEN:
        return None
    question = text.rstrip(" :：*").endswith(("?", "？"))
    key = _lookup(folded, question)
    if key is None and any(_is_traditional(ch) for ch in folded):
        key = _lookup(_t2s().convert(folded), question)  # only when a traditional character is there
    return key


def _lookup(label: str, question: bool) -> str | None:
    key = _ALIAS_TABLE.get(label)
    if key is None:
        # hints in brackets: 参加接待人员（不超过3人）, 联系电话（手机）
        key = _ALIAS_TABLE.get(_PARENS.sub("", label))
    return key or _declaration_key(label, question)


def is_label(text: str) -> bool:
    return match_label(text) is not None


def is_section_heading(text: str) -> bool:
    """A heading between blocks of the form (三、诉求信息), which ends the value above it."""
    text = text.strip()
    if not text or len(text) > 24 or _SENTENCE_MARKS.search(text):
        return False
    if _HEADING_PART.match(text):
        return True
    number = _HEADING_NUMBER.match(text)
    if not number:
        return False
    rest = text[number.end():].strip()
    return 0 < len(rest) <= 14 and rest.endswith(_HEADING_NOUNS)


def split_label(text: str) -> tuple[str, str] | None:
    """(key, rest) when the cell is a label, or a label with its value in the same cell; else None.

    `rest` is the value written after the label (`企业名称：某某公司`), or "" when the cell is a label only.
    The text is tidied first (invisible characters out, whitespace runs collapsed, length capped).
    A short cell's answer is remembered: a form's label cells are the same from mail to mail.
    """
    return _split_short(text) if len(text) <= _LABEL_TEXT else _split_label(text)


def _split_label(text: str) -> tuple[str, str] | None:
    text = tidy(text)
    if not text or not text.strip():
        return None
    colon = _COLON.search(text)
    if colon:
        key = match_label(text[: colon.start()])
        if key:
            return key, text[colon.end():].strip()
    inline = _split_inline_answer(text)
    if inline:
        return inline
    key = match_label(text)
    return (key, "") if key else None


_split_short = lru_cache(maxsize=8192)(_split_label)


def _split_inline_answer(text: str) -> tuple[str, str] | None:
    """A label followed by checkboxes or a bare 是/否 in the same cell, without a colon."""
    glyph = _GLYPH_START.search(text)
    if glyph and glyph.start() > 0:
        key = match_label(text[: glyph.start()])
        if key:
            return key, text[glyph.start():].strip()
    answer = _TRAILING_ANSWER.match(text.strip())
    if answer:
        key = match_label(answer.group(1))
        if key and key.startswith("declarations."):
            return key, answer.group(2)
    return None


# ---------------------------------------------------------------- values in a grid of cells

Grid = list[list[str]]


Hits = dict[tuple[int, int], tuple[str, str]]


def label_hits(grid: Grid) -> Hits:
    """Every label cell of the grid: (row, col) -> (key, value written in the same cell)."""
    hits: Hits = {}
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            hit = split_label(text) if text and not text.isspace() else None
            if hit:
                hits[r, c] = hit
    return hits


def count_labels(grid: Grid) -> int:
    """How many cells of the grid are labels: picks the sheet that holds the form."""
    return len(label_hits(grid))


Cells = list[tuple[int, int]]


def find_values(grid: Grid, hits: Hits | None = None,
                origins: dict[str, Cells] | None = None) -> dict[str, str]:
    """The raw value text of every label found in the grid (first filled occurrence wins).

    With `origins`, also records the cells each value was taken from (OCR confidence follows them).
    """
    hits = label_hits(grid) if hits is None else hits
    values: dict[str, str] = {}
    for (r, c), (key, value) in hits.items():
        cells: Cells = [(r, c)]
        if not value:
            value, col = _value_right_cell(grid[r], c)
            cells = [(r, col)] if col is not None else []
        if value is None and key in BLOCK_KEYS:
            value, cells = _value_below(grid, r, c)
        if value and not values.get(key):
            values[key] = value
            if origins is not None:
                origins[key] = cells
        else:
            values.setdefault(key, "")
    return values


def _value_right(row: list[str], col: int) -> str | None:
    """Next non-empty cell to the right; "" when a label comes first, None when the row ends."""
    return _value_right_cell(row, col)[0]


def _value_right_cell(row: list[str], col: int) -> tuple[str | None, int | None]:
    for index in range(col + 1, len(row)):
        text = row[index]
        if not text or not text.strip():
            continue
        text = tidy(text)
        if is_label(text) or is_section_heading(text):
            return "", None
        return text, index
    return None, None


def _value_below(grid: Grid, row: int, col: int) -> tuple[str, Cells]:
    """The block of text under a heading label, up to the next label or a blank row after text."""
    lines: list[str] = []
    cells: Cells = []
    blanks = size = 0
    for r in range(row + 1, len(grid)):
        c, text = _first_text(grid[r], col)
        text = tidy(text)
        if not text.strip():
            blanks += 1
            if lines or blanks > 2:
                break
            continue
        if split_label(text) or is_section_heading(text):
            break
        lines.append(text)
        cells.append((r, c))
        size += len(text)
        if size > MAX_BLOCK:
            break
    return "\n".join(lines), cells


def _first_text(row: list[str], col: int) -> tuple[int, str]:
    """The text in a row below a block label: its own column first, else the row's first cell."""
    if col < len(row) and row[col].strip():
        return col, row[col]
    for index, text in enumerate(row):
        if text.strip():
            return index, text
    return -1, ""
