"""Text as the label reader may see it: no invisible characters, no whitespace runs, bounded length.

Every regex of form reading runs on text that went through `tidy` first. Collapsing whitespace runs
makes patterns such as `\\s*` or `.*?\\S\\s+` match at most one character per position, and the length
caps bound the work per line and per value, so reading stays linear on any input (a 200 KB line of
spaces once took minutes in a backtracking pattern).
"""

from __future__ import annotations

import re

MAX_CELL = 4000  # characters of one cell or line: a form's longest answer fits, a hostile one is cut
MAX_LINES = 20000  # lines of a mail body or paragraph list looked at

# zero-width space/joiners, word joiner and invisible operators, BOM, soft hyphen, LRM/RLM,
# Mongolian vowel separator, variation selectors (and their supplement)
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_BLANKS = re.compile(r"[^\S\n]+")  # whitespace other than line breaks
_NEWLINES = re.compile(r"\n{3,}")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def tidy(text: str, limit: int = MAX_CELL) -> str:
    """Invisible characters removed, each whitespace run one space (line breaks kept), capped."""
    if not text:
        return ""
    text = text[: limit * 4]  # bound the work before the substitutions
    text = strip_invisible(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _BLANKS.sub(" ", text)
    text = _NEWLINES.sub("\n\n", text)
    return text[:limit]


def tidy_lines(lines, limit: int = MAX_LINES) -> list[str]:
    """At most `limit` tidied lines (a line holding many newlines after tidying is split)."""
    out: list[str] = []
    for line in lines:
        for part in tidy(line).split("\n"):
            out.append(part)
        if len(out) >= limit:
            break
    return out[:limit]
