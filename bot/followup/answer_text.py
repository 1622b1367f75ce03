"""A unit's 办理结果 made into the text of the office's answer: what the unit wrote about the
demand, without the salutation to the office, the signature block, phone numbers of its staff and
the quoted mail below. Pure text in, text out; the admin reads (and may edit) the result."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.message.quote import fresh_text

# Words that make a short "X：" opening a salutation to the office rather than content.
_ADDRESSEES = ("营商办", "办公室", "市政府", "领导", "您好", "你好", "同志", "尊敬", "各位", "老师")
_GREETING = re.compile(r"^\s*(您好|你好|大家好)[！!，,。]?\s*")
_OPENING = re.compile(r"^\s*([^：:，,。！!\n]{1,24})[：:]\s*")
_CLOSINGS = ("此致", "敬礼", "谢谢", "感谢", "顺颂", "特此报告", "特此函复", "请审阅", "请查收", "妥否")
_CONTACT_LINE = re.compile(r"^\s*[（(]?\s*(联系人|经办人|承办人|联系电话|电话|手机|座机|传真|邮箱|"
                           r"电子邮箱|签发|审核|盖章)\s*[：:）)]?")
_DATE_LINE = re.compile(r"^\s*(\d{4}\s*[年.\-/]\s*\d{1,2}\s*[月.\-/]\s*\d{1,2}\s*日?|"
                        r"[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日)\s*$")
_ORG_SUFFIX = re.compile(r"(局|委员会|委|办公室|办|人民政府|政府|中心|公司|集团|处|科|室|站|所|院|队)"
                         r"[（(]?(盖章)?[)）]?\s*$")
_MOBILE = re.compile(r"(?<!\d)(\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)[（(]?0\d{2,3}[)）]?[\s\-—－]?\d{7,8}(?:[-转]\d{1,5})?(?!\d)")
_CONTACT_ASIDE = re.compile(r"[（(][^（）()\n]{0,40}(联系人|电话|手机|联系方式)[^（）()\n]{0,40}[)）]")
_CONTACT_TAIL = re.compile(r"[，,；;。]?\s*(联系人|联系电话|联系方式|电话|手机)[：:]?\s*[^，,；;。\n]{0,20}"
                           r"(?=[，,；;。\n]|$)")
_SIGNATURE_RULE = re.compile(r"^\s*(--|——+|-{3,}|_{3,})\s*$")


def clean_result(text: str, names: Iterable[str] = ()) -> str:
    """The unit's text as the office's answer. `names`: unit and office names that may open the
    text as an addressee or close it as the signature."""
    names = tuple(n for n in names if n)
    lines = fresh_text(text or "").splitlines()
    lines = _cut_signature_rule(lines)
    lines = _drop_opening(lines, names)
    lines = _drop_closing(lines, names)
    body = "\n".join(lines)
    body = _CONTACT_ASIDE.sub("", body)
    body = _MOBILE.sub("", body)
    body = _LANDLINE.sub("", body)
    body = _CONTACT_TAIL.sub(_keep_stop, body)
    return _tidy(body)


def _cut_signature_rule(lines: list[str]) -> list[str]:
    """Everything below a "--" line is a mail signature."""
    for index, line in enumerate(lines):
        if _SIGNATURE_RULE.match(line) and index > 0:
            return lines[:index]
    return lines


def _drop_opening(lines: list[str], names: tuple[str, ...]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines:
        return lines
    first = _GREETING.sub("", lines[0])
    match = _OPENING.match(first)
    if match and _is_addressee(match.group(1), names):
        first = first[match.end():]
    first = _GREETING.sub("", first)
    return ([first] if first.strip() else []) + lines[1:]


def _is_addressee(who: str, names: tuple[str, ...]) -> bool:
    who = who.strip()
    return any(w in who for w in _ADDRESSEES) or any(who and (who in n or n in who) for n in names)


def _drop_closing(lines: list[str], names: tuple[str, ...]) -> list[str]:
    """Drop signature lines from the end: names, dates, contacts, 此致 敬礼 and the like."""
    while lines and _is_signature_line(lines[-1], names):
        lines = lines[:-1]
    return lines


def _is_signature_line(line: str, names: tuple[str, ...]) -> bool:
    text = line.strip()
    if not text:
        return True
    if any(text.startswith(c) for c in _CLOSINGS) and len(text) <= 12:
        return True
    if _CONTACT_LINE.match(text) or _DATE_LINE.match(text):
        return True
    if any(text == n or text.startswith(n) and len(text) <= len(n) + 12 for n in names):
        return True
    # A short line with no sentence punctuation ending like an organisation: the unit's name.
    return len(text) <= 30 and not re.search(r"[。，；！？,;]", text) and bool(_ORG_SUFFIX.search(text))


def _keep_stop(match: re.Match) -> str:
    return "。" if match.group(0).startswith("。") else ""


def _tidy(body: str) -> str:
    body = re.sub(r"[（(]\s*[)）]", "", body)
    body = re.sub(r"[ \t\u3000]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body)
    body = re.sub(r"([，,；;])\s*([。])", r"\2", body)
    body = re.sub(r"。{2,}", "。", body)
    return body.strip()
