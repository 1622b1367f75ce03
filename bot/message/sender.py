"""Who a mail is from: the one address of its `From` field, and whether that field can be trusted.

Mail clients show the display name, not the address, so `From: admin@office <attacker@evil>` looks
like the admin to a person, and the standard library's address parser even returns admin@office as
the first of two addresses. The sender is therefore the single angle address; a `From` that names
several addresses, appears twice, or whose display name looks like a different address is marked
with a problem, and nothing that needs a trusted sender is done for it.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

from bot.message.decode import decode_words

_ANGLE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>")
_ADDRESS_LIKE = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+\.[^\s<>\"'(),;:]+")
_ROBOT = re.compile(r"[^@\s]+")  # MAILER-DAEMON and other bare local names


PROBLEMS_CN = {
    "no From field": "邮件没有发件人字段",
    "several From fields": "邮件含有多个发件人字段",
    "several addresses in From": "发件人字段含有多个地址",
    "no address in From": "发件人地址无法识别",
    "display name": "发件人显示名称是另一个邮箱地址，有冒充之嫌",
}


@dataclass(frozen=True)
class Sender:
    address: str  # lower case; "" when none could be read
    name: str  # the display name, decoded
    problem: str = ""  # why this From cannot be trusted (English, for logs); "" when it can

    @property
    def problem_cn(self) -> str:
        return problem_cn(self.problem)


def problem_cn(problem: str) -> str:
    """The problem in words for the admin."""
    return next((cn for key, cn in PROBLEMS_CN.items() if problem.startswith(key)), problem)


def sender_of(from_values: list[str]) -> Sender:
    """The sender named by the (decoded-on-demand) values of every `From` field of a mail."""
    values = [v for v in from_values if v and v.strip()]
    if not values:
        return Sender("", "", "no From field")
    sender = _one(values[0])
    if len(values) > 1:
        return Sender(sender.address, sender.name, "several From fields")
    return sender


def _one(raw: str) -> Sender:
    text = decode_words(raw).strip()
    angles = _ANGLE.findall(text)
    if len(angles) > 1:
        return Sender(angles[0].lower(), "", "several addresses in From")
    if len(angles) == 1:
        address = angles[0].lower()
        name = _display_name(text[: text.find("<")])
        impostor = [a for a in _ADDRESS_LIKE.findall(name) if a.lower() != address]
        problem = f"display name {impostor[0]!r} differs from the address" if impostor else ""
        return Sender(address, name, problem)
    found = [(n, a) for n, a in email.utils.getaddresses([text]) if a]
    if len(found) == 1 and ("@" in found[0][1] or _ROBOT.fullmatch(found[0][1])):
        return Sender(found[0][1].lower(), decode_words(found[0][0]).strip(), "")
    bare = _ADDRESS_LIKE.findall(text)
    if len(bare) == 1:
        return Sender(bare[0].lower(), "", "")
    address = bare[0].lower() if bare else ""
    return Sender(address, "", "several addresses in From" if bare else "no address in From")


def _display_name(text: str) -> str:
    name = text.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name.strip()
