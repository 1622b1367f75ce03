"""rules/roster.csv -> the enterprise roster: credit code, name and categories, one row per enterprise.

The file is optional (no file, no roster). Each row's credit code is validated and compacted; a bad
header, a bad row or a duplicate code is reported as `roster.csv:line: message` and the row is left out,
an unknown category is only a warning.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from bot.rules.model import RosterEntry
from bot.tomlpos import Report
from bot.uscc import compact, credit_code_problem

ROSTER_FILE = "roster.csv"
ROSTER_HEADER = ["credit_code", "name", "categories"]
ROSTER_CATEGORIES = ("规上企业", "上市后备企业", "高新技术企业")


def read_roster(path: Path, report: Report) -> tuple[RosterEntry, ...] | None:
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(ROSTER_FILE, 1, f"无法按 UTF-8 文本读取该文件：{exc}")
        return ()
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if header != ROSTER_HEADER:
        report.error(ROSTER_FILE, 1, f"表头应为 {','.join(ROSTER_HEADER)}，而不是 {','.join(header)}")
        return ()
    entries, first = [], {}
    for row in reader:
        entry = _roster_row(row, reader.line_num, first, report)
        if entry:
            entries.append(entry)
    return tuple(entries)


def _roster_row(row: list[str], line: int, first: dict[str, int], report: Report) -> RosterEntry | None:
    if not any(cell.strip() for cell in row):
        return None
    if len(row) != 3:
        report.error(ROSTER_FILE, line, f"应有 3 列（{','.join(ROSTER_HEADER)}），而不是 {len(row)} 列")
        return None
    written, name, cats = (cell.strip() for cell in row)
    code = compact(written)
    problem = credit_code_problem(code)
    if problem:
        report.error(ROSTER_FILE, line, f"统一社会信用代码“{written}”{problem}")
        return None
    if code in first:
        report.error(ROSTER_FILE, line, f"统一社会信用代码“{code}”重复（首次出现在第 {first[code]} 行）")
        return None
    first[code] = line
    if not name:
        report.error(ROSTER_FILE, line, f"统一社会信用代码“{code}”没有企业名称")
    categories = tuple(c.strip() for c in re.split(r"[;；]", cats) if c.strip())
    for cat in categories:
        if cat not in ROSTER_CATEGORIES:
            report.warn(ROSTER_FILE, line, f"未知的类别“{cat}”（可用：{'、'.join(ROSTER_CATEGORIES)}）")
    return RosterEntry(code, name, categories)
