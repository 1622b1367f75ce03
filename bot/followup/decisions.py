"""Reading a decision written in a mail: 同意 / 不同意 at the start of the reply, and a date in it.

Pure text functions, shared by the admin's replies (draft answers, extension requests) and the
units' extension requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

APPROVE, REFUSE, TEXT, UNCLEAR = "approve", "refuse", "text", "unclear"

_REFUSE = re.compile(r"^\s*(不同意|不予同意|不批准|不予批准|暂缓|退回|驳回|不可以)")
_APPROVE = re.compile(r"^\s*(同意|批准|准予|可以|好的?|确认)")
_PUNCT = re.compile(r"[\s，,。.！!；;：:、]+")
# An edited answer is a text for the enterprise: anything shorter is taken as unclear, not sent.
MIN_ANSWER = 15
_FULL_DATE = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(r"(?<![\d年.\-/])(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")


@dataclass(frozen=True)
class Decision:
    kind: str  # approve | refuse | text | unclear
    rest: str  # what follows 同意/不同意 on the first line and below (a reason, a date); or the text


def read_decision(text: str, allow_text: bool) -> Decision:
    """The admin's reply. `allow_text`: a longer reply that is neither 同意 nor 不同意 is the
    edited text itself (draft answers); otherwise it is unclear."""
    body = (text or "").strip()
    first = body.splitlines()[0] if body else ""
    refused = _REFUSE.match(first)
    if refused:
        return Decision(REFUSE, _PUNCT.sub(" ", body[refused.end():]).strip())
    approved = _APPROVE.match(first)
    # 同意 opens a short first line ("同意。", "同意，请发送", "同意延期至3月1日"); a long
    # paragraph that happens to begin with 同意 is an edited text.
    if approved and len(_PUNCT.sub("", first)) <= 20:
        return Decision(APPROVE, body[approved.end():].strip())
    if allow_text and len(_PUNCT.sub("", body)) >= MIN_ANSWER:
        return Decision(TEXT, body)
    return Decision(UNCLEAR, body)


def find_date(text: str, today: date) -> date | None:
    """The first date written in the text: 2027年2月26日, 2027-02-26, 2027.2.26, or 2月26日 (the
    next such day from today). None when there is none or it does not exist."""
    full = _FULL_DATE.search(text or "")
    if full:
        try:
            return date(int(full.group(1)), int(full.group(2)), int(full.group(3)))
        except ValueError:
            return None
    short = _MONTH_DAY.search(text or "")
    if short:
        for year in (today.year, today.year + 1):
            try:
                found = date(year, int(short.group(1)), int(short.group(2)))
            except ValueError:
                return None
            if found >= today:
                return found
    return None
