"""Positions in TOML files (config.toml and the rule files): which line each thing is on, and
problems pinned to `file:line`.

tomllib keeps no positions, so `TomlLines` scans a file's text once (skipping strings, arrays and
comments) to find the line of each table header and key; a `RuleFile` pairs the parsed data with those
lines so a problem about a key points at that key's line and one about a whole entry at its `[[table]]`
header. `Report` collects the problems as `file:line: message`, and `toml_error` turns tomllib's own
syntax-error position into a line and a message for the admin.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]\s]+)\s*\]")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]""")


@dataclass
class _Span:
    line: int
    keys: dict[str, int] = field(default_factory=dict)


class TomlLines:
    """Line numbers of table headers and keys, found by a light scan that skips strings and arrays."""

    def __init__(self, text: str):
        self.root = _Span(1)
        self.tables: dict[str, list[_Span]] = {}
        self.last_line = max(1, len(text.splitlines()))
        self._scan(text)

    def _scan(self, text: str) -> None:
        current, in_string, depth = self.root, None, 0
        for no, line in enumerate(text.splitlines(), 1):
            rest = line
            if in_string is None and depth == 0:
                header, key = _HEADER_RE.match(line), _KEY_RE.match(line)
                if header:
                    current = _Span(no)
                    self.tables.setdefault(header.group(2), []).append(current)
                    continue
                if key:
                    current.keys.setdefault(key.group(1).strip("\"'"), no)
                    rest = line[key.end():]
            in_string, depth = _skip(rest, in_string, depth)

    def entry(self, table: str | None, index: int = 0) -> _Span:
        spans = self.tables.get(table, []) if table else [self.root]
        return spans[index] if index < len(spans) else self.root

    def line(self, table: str | None, index: int = 0, key: str | None = None) -> int:
        span = self.entry(table, index)
        if key is None:
            return span.line
        if key in span.keys:
            return span.keys[key]
        if table is None and key in self.tables:  # a top-level [key] table
            return self.tables[key][0].line
        return span.line


def _skip(text: str, in_string: str | None, depth: int) -> tuple[str | None, int]:
    """Advance the scan state over one line: open multi-line strings and bracket depth carry over."""
    i = 0
    while i < len(text):
        if in_string:
            end = text.find(in_string, i)
            if end < 0:
                return in_string, depth
            i, in_string = end + 3, None
            continue
        if text.startswith(('"""', "'''"), i):
            in_string, i = text[i:i + 3], i + 3
            continue
        ch = text[i]
        if ch == "#":
            break
        if ch in "\"'":
            i = _string_end(text, i)
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return in_string, depth


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i


def toml_error(text: str, last_line: int) -> tuple[int, str]:
    """(line, message) of a tomllib syntax error, its position moved out of the message. tomllib
    words its errors in English; the admin reads them after a Chinese lead-in."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if match:
        return int(match.group(1)), f"TOML 语法错误（第 {match.group(2)} 列）：{text[:match.start()]}"
    return last_line, f"TOML 语法错误（文件末尾）：{text.replace(' (at end of document)', '')}"


def read_toml(path: Path, name: str | None = None) -> tuple[RuleFile | None, tuple[int, str] | None]:
    """The parsed file with its line positions, or (None, (line, Chinese message)) when it cannot
    be read as UTF-8 TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, (1, f"无法按 UTF-8 文本读取该文件：{exc}")
    lines = TomlLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, toml_error(str(exc), lines.last_line)
    return RuleFile(name or path.name, data, lines), None


@dataclass
class RuleFile:
    name: str
    data: dict
    lines: TomlLines

    def line(self, table: str | None = None, index: int = 0, key: str | None = None) -> int:
        return self.lines.line(table, index, key)


class Report:
    """Every problem found, errors and warnings apart, each as `file:line: message`."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, file: str, line: int, message: str) -> None:
        self.errors.append(f"{file}:{line}: {message}")

    def warn(self, file: str, line: int, message: str) -> None:
        self.warnings.append(f"{file}:{line}: {message}")
