"""Normalising the values read from a form.

Each function returns the normalised value, or the text as written when it cannot be normalised, so
that validation can name the problem (FORM-INVALID) instead of the value silently disappearing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from bot.forms.model import ENTERPRISE_TYPES

CHECKED = "√✓✔☑☒■▣✅"
UNCHECKED = "□☐"
_GLYPH = re.compile(f"([{CHECKED}{UNCHECKED}])")
_EMPTY_PARENS = re.compile(r"[(（]\s*[)）]")
_MARKED_PARENS = re.compile(rf"[(（]\s*([{CHECKED}])\s*[)）]")
_PLACEHOLDER = re.compile(r"^[\s_＿—\-/／.。…:：]*$")


# ---------------------------------------------------------------- text

def cell_text(value: object) -> str:
    """A cell value as text: numbers without a spurious `.0`, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # a phone or credit code read as a number: integral floats keep every digit they still have
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def clean(text: str | None) -> str | None:
    """Trimmed text with tidy line ends; None when empty or only a fill-in line (____)."""
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ").replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines).strip()
    return None if _PLACEHOLDER.match(text) else text


def _halfwidth(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# ---------------------------------------------------------------- credit code

def normalize_credit_code(text: str | None) -> str | None:
    """Upper case without spaces, the letter O read as 0; kept as written when not 18 characters."""
    text = clean(text)
    if not text:
        return None
    compact = re.sub(r"[\s\-]", "", _halfwidth(text)).upper()
    if len(compact) != 18:
        return text
    return compact.replace("O", "0")


# ---------------------------------------------------------------- phone

_DASHES = re.compile(r"[‐‑‒–—―−－﹣ー一]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_SPLIT = re.compile(r"^\(?(0\d{2,3})\)?-?(\d{7,8})(?:-(\d{1,6}))?$")
_THREE_DIGIT_AREAS = ("010", "020", "021", "022", "023", "024", "025", "027", "028", "029")


def normalize_phone(text: str | None) -> str | None:
    """A mobile as 11 digits, a landline as `0473-8991510`; several numbers: the first readable one."""
    text = clean(text)
    if not text:
        return None
    for part in [text, *re.split(r"[/、,，;；\n]|或", text)]:
        phone = _one_phone(part)
        if phone:
            return phone
    return text


def _one_phone(text: str) -> str | None:
    compact = _DASHES.sub("-", _halfwidth(text)).strip()
    compact = re.sub(r"[\s.]", "", compact)
    compact = re.sub(r"^(?:\+86|0086|\(\+86\)|\+\(86\))-?", "+", compact)
    international = compact.startswith("+")
    compact = compact.lstrip("+")
    digits = compact.replace("-", "").replace("(", "").replace(")", "")
    if _MOBILE.match(digits):
        return digits
    if international and not compact.startswith("0"):
        compact = "0" + compact  # +86 473 8991510: the trunk 0 is dropped abroad
    return _landline(compact)


def _landline(compact: str) -> str | None:
    match = _LANDLINE_SPLIT.match(compact)
    if match and ("-" in compact or "(" in compact):
        area, number, ext = match.groups()
        return _join_landline(area, number, ext)
    if re.fullmatch(r"0\d{9,11}", compact):
        size = 3 if compact[:3] in _THREE_DIGIT_AREAS else 4
        return _join_landline(compact[:size], compact[size:], None)
    return None


def _join_landline(area: str, number: str, ext: str | None) -> str | None:
    if not 7 <= len(number) <= 8:
        return None
    return f"{area}-{number}" + (f"-{ext}" if ext else "")


# ---------------------------------------------------------------- email

def normalize_email(text: str | None) -> str | None:
    text = clean(text)
    if not text:
        return None
    text = _halfwidth(text).strip()
    text = re.sub(r"^mailto:", "", text, flags=re.I)
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- dates

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_DATE = re.compile(r"([〇零○ＯO一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月"
                      r"\s*([一二三四五六七八九十]{1,3})\s*[日号]")
_DATE = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*[日号]?")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _cn_number(text: str) -> int:
    """一 .. 三十一 as used for months and days."""
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, units = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _date_parts(text: str) -> tuple[int, int, int] | None:
    cn = _CN_DATE.search(text)
    if cn:
        year = int("".join(str(_CN_DIGITS[ch]) for ch in cn.group(1)))
        return year, _cn_number(cn.group(2)), _cn_number(cn.group(3))
    match = _DATE.search(text) or _COMPACT_DATE.match(text)
    if match:
        return int(match.group(1)), int(match.group(2)), int(match.group(3))
    return None


def normalize_date(text: str | None) -> str | None:
    """YYYY-MM-DD; a date that does not exist (2月30日) or cannot be read is kept as written."""
    text = clean(text)
    if not text:
        return None
    half = _halfwidth(text)
    if re.fullmatch(r"\d{5}", half) and 20000 < int(half) < 80000:
        return (_EXCEL_EPOCH + dt.timedelta(days=int(half))).isoformat()  # an Excel serial
    parts = _date_parts(half)
    if parts is None:
        return text
    try:
        return dt.date(*parts).isoformat()
    except ValueError:
        return text


# ---------------------------------------------------------------- district

def normalize_district(value: str | None, districts=(), city: str = "") -> str | None:
    """One of `districts` when the text names one (乌海市海勃湾区 -> 海勃湾区); else as written."""
    value = clean(value)
    if not value:
        return None
    checked = checked_options(value)
    if checked is not None:
        if not checked:
            return None
        value = checked[0]
    compact = "".join(_halfwidth(value).split())
    if compact in districts:
        return compact
    for district in districts:
        if district in compact:
            return district
    for district in districts:
        short = district.removesuffix("区").removesuffix("县").removesuffix("旗")
        if len(short) >= 2 and short in compact:
            return district
    return value


# ---------------------------------------------------------------- checkboxes

def has_checkboxes(text: str) -> bool:
    return bool(_GLYPH.search(text))


def parse_checkboxes(text: str) -> list[tuple[str, bool]] | None:
    """Options with their state: `☑是 □否`, `□是 √否`, `是√ 否□`, `是（√）否（ ）`; None without boxes."""
    text = _MARKED_PARENS.sub(r"\1", text)
    text = _EMPTY_PARENS.sub("□", text) if has_checkboxes(text) or _EMPTY_PARENS.search(text) else text
    tokens = [t for t in _GLYPH.split(text) if t.strip()]
    if not any(_GLYPH.fullmatch(t) for t in tokens):
        return None
    boxes_first = bool(_GLYPH.fullmatch(tokens[0]))
    options: list[tuple[str, bool]] = []
    pending: bool | None = None
    for token in tokens:
        if _GLYPH.fullmatch(token):
            checked = token in CHECKED
            if boxes_first:
                pending = checked
            elif options:
                options[-1] = (options[-1][0], options[-1][1] or checked)
            continue
        words = token.split()
        for i, word in enumerate(words):
            state = bool(pending) if (boxes_first and i == 0) else False
            options.append((word.strip(" ：:，,;；、"), state))
        pending = None
    return [(name, state) for name, state in options if name]


def checked_options(text: str) -> list[str] | None:
    """The checked options, or None when the text holds no checkboxes at all."""
    options = parse_checkboxes(text)
    if options is None:
        return None
    return [name for name, state in options if state]


_YES = ("是", "有", "已")
_NO = ("否", "无", "没有", "未", "不是", "没")


def parse_yes_no(text: str | None) -> bool | None:
    """A declaration answer: True (是), False (否/无/没有), None when not answered or both ticked."""
    text = clean(text)
    if not text:
        return None
    checked = checked_options(text)
    if checked is not None:
        answers = {_yes_no_word(option) for option in checked} - {None}
        return answers.pop() if len(answers) == 1 else None
    return _yes_no_word(text)


def _yes_no_word(text: str) -> bool | None:
    word = _halfwidth(text).strip(" 。.，,!！").lower()
    if word in ("是/否", "是否", "是 否"):
        return None  # the template's hint left in place
    if word.startswith(_NO) or word in ("n", "no", "×"):
        return False
    if word.startswith(_YES) or word in ("y", "yes"):
        return True
    return None


# ---------------------------------------------------------------- lists and choices

_SEPARATORS = "、，,;；\n"
_ITEM_NUMBER = re.compile(r"^(?:\d{1,2}|[①-⑳]|[(（]\d{1,2}[)）])[.、．)）]?\s*")


def split_list(text: str | None) -> list[str]:
    """Items separated by 、，,;； or new lines, not splitting inside brackets: 张三（总经理，法人）."""
    text = clean(text)
    if not text:
        return []
    items, depth, current = [], 0, []
    for ch in text:
        if ch in "(（[【":
            depth += 1
        elif ch in ")）]】":
            depth -= 1
        if ch in _SEPARATORS and depth <= 0:
            items.append("".join(current))
            current, depth = [], 0
        else:
            current.append(ch)
    items.append("".join(current))
    return [item for item in (_strip_number(i) for i in items) if item]


def _strip_number(item: str) -> str:
    item = item.strip()
    if re.fullmatch(r"\d{1,2}|[①-⑳]", item):
        return ""
    return _ITEM_NUMBER.sub("", item).strip()


_TYPE_ALIASES = {"规模以上企业": "规上企业", "规上": "规上企业", "高新企业": "高新技术企业",
                 "国家高新技术企业": "高新技术企业", "上市后备": "上市后备企业"}


def parse_enterprise_types(text: str | None) -> list[str]:
    """Ticked types (or typed names) in form order, spelled as on the blank form where known."""
    text = clean(text)
    if not text:
        return []
    checked = checked_options(text)
    names = checked if checked is not None else split_list(text)
    return [_canonical_type(name) for name in names]


def _canonical_type(name: str) -> str:
    name = name.strip()
    if name in ENTERPRISE_TYPES:
        return name
    if name in _TYPE_ALIASES:
        return _TYPE_ALIASES[name]
    if name.startswith("其他"):
        return "其他"
    return name


def parse_choice(text: str | None) -> str | None:
    """A single choice: the first ticked option when boxes are used, otherwise the text."""
    text = clean(text)
    if not text:
        return None
    checked = checked_options(text)
    if checked is None:
        return text
    return checked[0] if checked else None
