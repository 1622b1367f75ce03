"""The case number in a subject: `[WHJD-2026-0001]` is how a reply finds its case.

Every mail client keeps the subject when replying, so the bot writes the case number there in
brackets, and reads it back from there. A case number format whose numbers this pattern cannot
find would cut every reply from its case, so `rules check` refuses it (`findable`).
"""

from __future__ import annotations

import re

TAG = re.compile(r"\[([A-Za-z][A-Za-z0-9]*-\d{4}-\d{2,})\]")


def case_tag(case_number: str) -> str:
    """The ASCII tag that ties a reply to its case, kept by every mail client in the subject."""
    return f"[{case_number}]" if case_number else ""


def tagged_number(subject: str) -> str | None:
    """The case number tagged in a subject, upper case; None when there is none."""
    match = TAG.search((subject or "")[:2000])
    return match.group(1).upper() if match else None


def findable(case_number_format: str) -> bool:
    """Whether numbers made by this format are found again in a subject (tried on sample years and
    sequence numbers, small and large)."""
    try:
        samples = [case_number_format.format(year=y, seq=n) for y in (2026, 2099) for n in (1, 12345)]
    except (KeyError, IndexError, ValueError):
        return False
    return all(tagged_number(f"回复：{case_tag(s)} 落实情况") == s.upper() for s in samples)
