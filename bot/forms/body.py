"""A form typed into the mail body (or Word paragraphs) as `label：value` lines.

A label line may carry its value after a colon, or leave it to the next line. Block values (基本情况,
理由依据, 具体请求, 参加接待人员) run over several lines until the next label line; a one-line value
(a phone, a date) takes one line, so a signature after 填报日期 does not end up in the date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.forms.labels import (
    BLOCK_KEYS,
    MAX_BLOCK,
    find_values,
    is_section_heading,
    match_label,
    normalize_label,
    split_label,
)
from bot.forms.textguard import tidy_lines

MIN_LABELS = 3  # fewer labels than this is an ordinary mail that mentions a word or two
_SPACED = re.compile(r"^(\S{3,}?)\s+(\S.*)$")
_SIGNATURE = ("--", "-- ", "——————", "发自我的")


def read_body_values(text: str) -> dict[str, str] | None:
    """Raw label values of a typed-in form, or None when the text is not a form."""
    values = scan_lines(text.splitlines())
    return values if len(values) >= MIN_LABELS else None


def scan_lines(lines: Iterable[str]) -> dict[str, str]:
    """Raw values of every label line found (an empty string for a label left blank)."""
    scanner = _Scanner()
    for raw in tidy_lines(lines):
        line = raw.strip()
        if line.startswith(">"):
            continue  # quoted text of an earlier mail
        if line.startswith(_SIGNATURE):
            break
        pairs = _label_pairs(line)
        for key, rest in pairs:
            scanner.label(key, rest)
        if not pairs and is_section_heading(line):
            scanner.flush()  # 三、诉求信息: the block above ends here
        elif not pairs:
            scanner.text(line)
    scanner.flush()
    return scanner.values


class _Scanner:
    def __init__(self):
        self.values: dict[str, str] = {}
        self.key: str | None = None
        self.lines: list[str] = []
        self.size = 0

    def label(self, key: str, rest: str) -> None:
        self.flush()
        self.key, self.lines = key, [rest] if rest else []
        if rest and key not in BLOCK_KEYS:
            self.flush()  # a one-line value is complete

    def text(self, line: str) -> None:
        if self.key is None or (not line and not self.lines):
            return
        self.lines.append(line)
        self.size += len(line)
        if self.key not in BLOCK_KEYS or self.size > MAX_BLOCK:
            self.flush()

    def flush(self) -> None:
        if self.key is not None:
            _store(self.values, self.key, self.lines)
        self.key, self.lines, self.size = None, [], 0


def _store(values: dict[str, str], key: str | None, lines: list[str]) -> None:
    if key is None:
        return
    text = "\n".join(lines).strip()
    if text and not values.get(key):
        values[key] = text
    else:
        values.setdefault(key, "")


def _label_pairs(line: str) -> list[tuple[str, str]]:
    """(key, value-on-this-line) pairs a line holds; several when cells were pasted with tabs."""
    if not line:
        return []
    if "\t" in line:
        cells = [cell.strip() for cell in line.split("\t")]
        return list(find_values([cells]).items())
    hit = split_label(line)
    if hit:
        return [hit]
    spaced = _SPACED.match(line)
    if spaced and len(normalize_label(spaced.group(1))) >= 3:
        key = match_label(spaced.group(1))  # 联系人 张三: only labels of three characters or more
        if key:
            return [(key, spaced.group(2).strip())]
    return []
