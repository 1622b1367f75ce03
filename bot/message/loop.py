"""Rule LOOP-AUTO: mail the bot must never answer (auto-replies, bounces, lists, its own mail).

Answering an auto-reply starts a mail loop, so every layer that can recognise
one is checked: RFC 3834 headers, vendor headers, delivery reports, robot
senders, our own addresses and Message-ID domain, and, because QQ Mail and 163
send auto-replies without any header, the subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.message.model import InboundMessage

_ROBOT_LOCAL_PARTS = {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply",
                      "donotreply", "do_not_reply", "no_reply"}
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_REPORT_TYPES = ("message/delivery-status", "message/disposition-notification")
# Matched after lower-casing and removing spaces, '-' and '_' ("Auto-Reply", "AutoReply").
_AUTO_SUBJECTS = ("自动回复", "自动答复", "自動回覆", "休假", "autoreply", "automaticreply",
                  "outofoffice", "退信", "系统退信", "undeliverable", "deliverystatusnotification",
                  "undeliveredmailreturnedtosender", "deliveryfailure")

Check = Callable[[InboundMessage, set[str], set[str]], "str | None"]


def loop_reason(msg: InboundMessage, own_addresses: Iterable[str],
                own_domains: Iterable[str]) -> str | None:
    """Why the mail must be ignored under LOOP-AUTO (English), or None when it may be answered."""
    own = {a.strip().lower() for a in own_addresses if a and a.strip()}
    domains = {d.strip().lower().lstrip("@") for d in own_domains if d and d.strip()}
    for check in _CHECKS:
        reason = check(msg, own, domains)
        if reason:
            return reason
    return None


def _auto_submitted(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    value = msg.header("Auto-Submitted")
    if value is not None and value.split(";")[0].strip().lower() not in ("no", ""):
        return f"Auto-Submitted: {value.strip()}"
    return None


def _precedence(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    value = (msg.header("Precedence") or "").strip().lower()
    return f"Precedence: {value}" if value in _BULK_PRECEDENCE else None


def _marker_headers(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = msg.header(name)
        if value is not None and value.strip().lower() not in ("no", "false"):
            return f"{name} header present: automatic mail"
    for name in ("List-Id", "List-Unsubscribe"):
        if msg.header(name) is not None:
            return f"{name} header present: mailing-list mail"
    return None


def _x_loop(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    for value in msg.header_all("X-Loop"):
        if any(addr in value.lower() for addr in own):
            return f"X-Loop names our mailbox: {value.strip()}"
    return None


def _delivery_report(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    ctype = (msg.header("Content-Type") or "").strip().lower()
    if ctype.startswith("multipart/report"):
        return "delivery status report (multipart/report)"
    if any(a.content_type in _REPORT_TYPES for a in msg.attachments):
        return "delivery status report (message/delivery-status part)"
    return None


def _robot_sender(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    local = msg.from_addr.split("@")[0].strip().lower()
    return f"sender {msg.from_addr} is an automatic mailbox" if local in _ROBOT_LOCAL_PARTS else None


def _empty_return_path(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    paths = msg.header_all("Return-Path")
    if any(re.sub(r"\s+", "", p) == "<>" for p in paths):
        return "empty return path (Return-Path: <>): a bounce"
    return None


def _own_mail(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    if msg.from_addr.strip().lower() in own:
        return f"from our own address {msg.from_addr}"
    domain = msg.message_id.rpartition("@")[2].strip().lower()
    if "@" in msg.message_id and domain in domains:
        return f"Message-ID on our own domain {domain}"
    return None


def _auto_subject(msg: InboundMessage, own: set[str], domains: set[str]) -> str | None:
    folded = re.sub(r"[\s\-_]+", "", msg.subject.lower())
    hit = next((s for s in _AUTO_SUBJECTS if s in folded), None)
    return f"auto-reply or bounce subject ({hit}): {msg.subject.strip()}" if hit else None


_CHECKS: tuple[Check, ...] = (
    _auto_submitted, _precedence, _marker_headers, _x_loop, _delivery_report,
    _robot_sender, _empty_return_path, _own_mail, _auto_subject,
)
