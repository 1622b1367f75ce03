"""What the rest of the bot knows about one inbound mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Attachment:
    filename: str  # decoded display name ("" when none); never used as a path
    content_type: str
    data: bytes
    skipped: str = ""  # non-empty: the part was not kept (over a limit, undecodable); says why


@dataclass
class InboundMessage:
    raw: bytes
    message_id: str  # without <>; a stable digest-based id when the mail has none
    from_addr: str  # lower-cased address
    from_name: str
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None
    in_reply_to: str  # without <>, "" when absent
    references: list[str]  # without <>
    headers: list[tuple[str, str]]  # decoded (name, value) pairs, in order
    text_body: str  # the text/plain part, or the HTML part turned into text
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped or repaired while parsing
    sender_problem: str = ""  # why `from_addr` cannot be trusted (bot.message.sender); "" if it can

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive; None when absent."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]
