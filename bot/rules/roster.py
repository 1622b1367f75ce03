"""rules/roster.csv -> the enterprise roster: credit code, name and categories, one row per enterprise.

The file is optional (no file, no roster). Each row's credit code is validated and compacted; a bad
header, a bad row or a duplicate code is reported as `roster.csv:line: message` and the row is left out,
an unknown category is only a warning.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc

from bot.rules.model import RosterEntry
from bot.rules.textpos import Report

ROSTER_FILE = "roster.csv"
ROSTER_HEADER = ["credit_code", "name", "categories"]
ROSTER_CATEGORIES = ("规上企业", "上市后备企业", "高新技术企业")


def read_roster(path: Path, report: Report) -> tuple[RosterEntry, ...] | None:
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(ROSTER_FILE, 1, f"cannot read the file as UTF-8 text: {exc}")
        return ()
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader, [])]
    if header != ROSTER_HEADER:
        report.error(ROSTER_FILE, 1, f"header must be {','.join(ROSTER_HEADER)}, not {','.join(header)}")
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
        report.error(ROSTER_FILE, line, f"expected 3 columns ({','.join(ROSTER_HEADER)}), not {len(row)}")
        return None
    code, name, cats = (cell.strip() for cell in row)
    problem = _credit_code_problem(code)
    if problem:
        report.error(ROSTER_FILE, line, f"invalid credit code '{code}': {problem}")
        return None
    code = uscc.compact(code)
    if code in first:
        report.error(ROSTER_FILE, line, f"duplicate credit code '{code}' (first at line {first[code]})")
        return None
    first[code] = line
    if not name:
        report.error(ROSTER_FILE, line, f"credit code '{code}' has no name")
    categories = tuple(c.strip() for c in re.split(r"[;；]", cats) if c.strip())
    for cat in categories:
        if cat not in ROSTER_CATEGORIES:
            report.warn(ROSTER_FILE, line, f"unknown category '{cat}' (known: {'、'.join(ROSTER_CATEGORIES)})")
    return RosterEntry(code, name, categories)


def _credit_code_problem(code: str) -> str | None:
    try:
        uscc.validate(code)
    except stdnum_errors.InvalidLength:
        return "it must have 18 characters"
    except stdnum_errors.InvalidFormat:
        return "invalid characters"
    except stdnum_errors.InvalidChecksum:
        return "the check character does not match"
    return None
