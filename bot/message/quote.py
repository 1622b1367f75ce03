"""The part of a reply its author wrote: the text above the quoted original.

Mail clients mark the start of the quote in their own ways (Foxmail and QQ: 「------------------
原始邮件 ------------------」, 163: 「在 2027年1月5日 写道：」, Outlook: 「发件人：」/「From:」, most: `>` lines).
Each line is looked at once, and only its first characters, so any body costs linear time (a
regex anchored with `^\\s*` over the whole body was quadratic on a mail of empty lines).
"""

from __future__ import annotations

import re

MAX_BODY = 1_000_000  # characters of a body that are looked at; a reply's own text is far shorter
_HEAD = 200  # characters of a line that can hold a quote marker
_MARKER = re.compile(
    r"(-{2,}\s*(原始邮件|Original|回复的原邮件|Forwarded)|在.{0,80}写道[:：]|On .{0,120}wrote:"
    r"|发件人[:：]|From:\s|>)")


def fresh_text(body: str | None) -> str:
    """Everything before the first line that starts the quoted original."""
    body = (body or "")[:MAX_BODY]
    offset = 0
    for line in body.splitlines(keepends=True):
        if _MARKER.match(line[:_HEAD].lstrip()):
            return body[:offset].strip()
        offset += len(line)
    return body.strip()
