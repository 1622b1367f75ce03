"""Outgoing mail from templates/mail/*.txt.j2: threaded, marked automatic, Message-ID fixed at creation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

import jinja2

from bot.casetag import case_tag
from bot.defaults import TemplatePath
from bot.errors import ConfigError
from bot.message.encode import add_attachment, flatten, folded, set_addresses, set_text, set_text_body


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    data: bytes
    mimetype: str = "application/octet-stream"


@dataclass
class Draft:
    """A rendered mail before it is queued."""

    purpose: str
    to: list[str]
    subject: str
    body: str
    case_number: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    auto_submitted: str = "auto-replied"  # auto-generated for reminders and notices
    cc: list[str] = field(default_factory=list)  # in copy (e.g. the admin on an escalation)
    # The Message-ID, when the caller chose it before queueing (the intake writes its reply's id
    # with the case: one INSERT, no UPDATE after the reply is queued); else one is made when queued.
    message_id: str = ""


class Templates:
    """Mail templates, found per file through the search path: an admin overrides one by placing a
    file of the same name in templates_dir/mail/; the others stay the shipped ones."""

    def __init__(self, source: TemplatePath | Path):
        self.path = source if isinstance(source, TemplatePath) else TemplatePath(Path(source))
        self.env = jinja2.Environment(loader=self.path.loader("mail"),
                                      undefined=jinja2.StrictUndefined,
                                      keep_trailing_newline=True, autoescape=False)

    def names(self) -> list[str]:
        """Every mail template (without .txt.j2), the admin's additions included."""
        return [n[:-len(".txt.j2")] for n in self.path.names("mail", ".txt.j2")]

    def render(self, name: str, **context) -> tuple[str, str]:
        """Returns (subject, body): the template's first line is `Subject: …`."""
        try:
            text = self.env.get_template(f"{name}.txt.j2").render(**context)
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"缺少邮件模板 mail/{exc.name}（templates_dir 和内置模板中都没有）") from exc
        first, _, body = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ConfigError(f"邮件模板 mail/{name}.txt.j2 的第一行应为“Subject: 邮件主题”")
        return first[len("Subject:"):].strip(), body.lstrip("\n")


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


# Line separators the email package treats as line ends (U+2028, U+2029, U+0085 and the C0/C1
# controls): in a header they would make the mail impossible to build, so they become spaces.
_HEADER_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str) -> str:
    """A value from a sender (an enterprise's name in a subject, a Message-ID we answer) made safe
    to put in a header: one line, no control characters."""
    return _HEADER_BREAKS.sub(" ", value or "").strip()


def build_mime(draft: Draft, *, message_id: str, mail_from: str, from_name: str,
               now: datetime) -> bytes:
    msg = EmailMessage()
    set_addresses(msg, "From", [(header_text(from_name), mail_from)])
    set_addresses(msg, "To", [("", header_text(a)) for a in draft.to])
    set_addresses(msg, "Cc", [("", header_text(a)) for a in draft.cc])
    tag = case_tag(draft.case_number)
    subject = header_text(draft.subject)[:900]
    set_text(msg, "Subject", f"{subject} {tag}".strip() if tag and tag not in subject else subject)
    msg.set_raw("Date", date_header(now))
    msg.set_raw("Message-ID", f"<{message_id}>")
    in_reply_to = _message_id(draft.in_reply_to)
    if in_reply_to:
        msg.set_raw("In-Reply-To", f"<{in_reply_to}>")
    refs = [_message_id(r) for r in draft.references] + [in_reply_to]
    refs = [r for r in refs if r][-20:]  # a hostile References list does not grow our headers
    if refs:
        msg.set_raw("References", folded("References", [f"<{r}>" for r in dict.fromkeys(refs)]))
    msg.set_raw("Auto-Submitted", draft.auto_submitted)
    msg.set_raw("X-Auto-Response-Suppress", "All")
    set_text(msg, "X-Loop", mail_from)
    set_text_body(msg, draft.body)
    for att in draft.attachments:
        _attach(msg, att)
    return flatten(msg)


def date_header(now: datetime) -> str:
    """The Date header's value: whole seconds, so a chunk's answers share one formatting."""
    return _date_of(now.replace(microsecond=0), now.utcoffset())


@lru_cache(maxsize=4)
def _date_of(second: datetime, offset) -> str:
    # The offset is part of the key: equal instants in two zones are equal datetimes, and the
    # header names the zone.
    return format_datetime(second)


def _message_id(value: str) -> str:
    """A Message-ID as it may stand between <>: no spaces, brackets or controls, sensible length."""
    cleaned = re.sub(r"[\s<>]+", "", header_text(value))
    return cleaned if 0 < len(cleaned) <= 500 else ""


def _attach(msg: EmailMessage, att: OutgoingAttachment) -> None:
    add_attachment(msg, att.data, att.filename, att.mimetype)
