"""Outgoing mail from templates/mail/*.txt.j2: threaded, marked automatic, Message-ID fixed at creation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

import jinja2

from bot.errors import ConfigError
from bot.message.encode import add_attachment


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


class Templates:
    """Mail templates; an admin overrides one by placing a file of the same name in templates/mail/."""

    def __init__(self, templates_dir: Path):
        loaders = [jinja2.FileSystemLoader(str(templates_dir / "mail"))]
        self.env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                                      undefined=jinja2.StrictUndefined,
                                      keep_trailing_newline=True, autoescape=False)

    def render(self, name: str, **context) -> tuple[str, str]:
        """Returns (subject, body): the template's first line is `Subject: …`."""
        try:
            text = self.env.get_template(f"{name}.txt.j2").render(**context)
        except jinja2.TemplateNotFound as exc:
            raise ConfigError(f"mail template missing: {exc.name}") from exc
        first, _, body = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ConfigError(f"mail template {name}.txt.j2 must start with a 'Subject:' line")
        return first[len("Subject:"):].strip(), body.lstrip("\n")


def case_tag(case_number: str) -> str:
    """The ASCII tag that ties a reply to its case, kept by every mail client in the subject."""
    return f"[{case_number}]" if case_number else ""


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


def build_mime(draft: Draft, *, message_id: str, mail_from: str, from_name: str,
               now: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, mail_from))
    msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    tag = case_tag(draft.case_number)
    msg["Subject"] = f"{draft.subject} {tag}".strip() if tag and tag not in draft.subject else draft.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if draft.in_reply_to:
        msg["In-Reply-To"] = f"<{draft.in_reply_to}>"
    refs = [r for r in draft.references if r] + ([draft.in_reply_to] if draft.in_reply_to else [])
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in dict.fromkeys(refs))
    msg["Auto-Submitted"] = draft.auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Loop"] = mail_from
    msg.set_content(draft.body, charset="utf-8", cte="base64")
    for att in draft.attachments:
        _attach(msg, att)
    return msg.as_bytes()


def _attach(msg: EmailMessage, att: OutgoingAttachment) -> None:
    add_attachment(msg, att.data, att.filename, att.mimetype)
