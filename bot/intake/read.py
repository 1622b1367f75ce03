"""Message -> Intake -> Verdict. The one decision path shared by `triage`, `run` and `register`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget
from bot.forms.model import Form
from bot.forms.reader import read_attachment, read_body
from bot.message.loop import loop_reason
from bot.message.model import Attachment, InboundMessage
from bot.message.quote import fresh_text
from bot.rules.decide import Intake, decide
from bot.rules.model import Ruleset
from bot.verdict import Verdict


@dataclass
class Triaged:
    verdict: Verdict
    form_attachment: Attachment | None  # the file the form was read from (forwarded on referral)


def read_intake(msg: InboundMessage, rules: Ruleset, own_domains: tuple[str, ...]) -> tuple[Intake, Attachment | None]:
    own = (rules.programme.mailbox,)
    reason = loop_reason(msg, own, own_domains)
    if reason:
        return Intake(None, sender=msg.from_addr, loop_reason=reason), None
    form, source, unreadable = form_from_attachments(msg, rules)
    if form is None:
        form = read_body(msg.text_body or "", districts=rules.programme.districts,
                         city=rules.programme.city)
        if form is not None:
            unreadable = []
    return Intake(form, unreadable, msg.from_addr), source


OVERRUN_NOTE = ("您的来信未能在系统处理时限内读取完毕（附件或正文过大、过于复杂）。请将填写好的"
                "《来访企业预约登记表》（.xlsx 或 .docx）作为附件重新发送。")


def headers_intake(msg: InboundMessage, rules: Ruleset,
                   own_domains: tuple[str, ...]) -> tuple[Intake, Attachment | None]:
    """The intake of a mail read by its headers only (its full reading overran the limits): no
    form, and a note that says so, unless the headers alone show it must not be answered."""
    reason = loop_reason(msg, (rules.programme.mailbox,), own_domains)
    if reason:
        return Intake(None, sender=msg.from_addr, loop_reason=reason), None
    return Intake(None, [OVERRUN_NOTE], msg.from_addr), None


def fresh_form(msg: InboundMessage, rules: Ruleset) -> bool:
    """Whether a reply carries a form of its own: an attachment, or one typed above the quote."""
    programme = rules.programme
    return bool(msg.attachments) or read_body(fresh_text(msg.text_body), districts=programme.districts,
                                              city=programme.city) is not None


def form_from_attachments(msg: InboundMessage, rules: Ruleset):
    """The first attachment that reads as a form; notes for those that could not be read."""
    unreadable: list[str] = []
    budget = FormBudget()  # one budget for the whole mail: every attachment and archive draws on it
    for att in msg.attachments:
        name = att.filename or "（未命名附件）"
        if att.skipped:
            unreadable.append(f"附件“{name}”未能读取：{att.skipped}。")
            continue
        try:
            form = read_attachment(att.data, att.filename, districts=rules.programme.districts,
                                   city=rules.programme.city, budget=budget)
        except FormUnreadable as exc:
            unreadable.append(exc.detail or f"附件“{name}”无法读取（{exc.reason}），"
                              "请使用本邮件所附的登记表填写后重新发送。")
            continue
        if not form.is_blank():
            return form, att, []
        unreadable.append(f"附件“{name}”是空白登记表，请填写后重新发送。")
    return None, None, _at_most(unreadable, MAX_NOTES)


MAX_NOTES = 5


def _at_most(notes: list[str], limit: int) -> list[str]:
    """A mail with hundreds of unreadable parts gets a reply of readable length."""
    if len(notes) <= limit:
        return notes
    return notes[:limit] + [f"另有{len(notes) - limit}个附件无法读取，请只附上填写好的登记表重新发送。"]


def triage(msg: InboundMessage, rules: Ruleset, today: date, *,
           own_domains: tuple[str, ...] = (), used: Callable[[str], int] = lambda _s: 0) -> Triaged:
    intake, source = read_intake(msg, rules, own_domains)
    return Triaged(decide(intake, rules, today, used), source)


def triage_form(form: Form, rules: Ruleset, today: date, *, sender: str = "",
                used: Callable[[str], int] = lambda _s: 0) -> Verdict:
    """A form entered by the admin (phone / on-site registration): same decision, no mail checks."""
    return decide(Intake(form, [], sender), rules, today, used)
