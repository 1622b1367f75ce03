"""Outgoing attachments whose Chinese file names every client in use shows correctly.

Python's email package writes non-ASCII parameters as RFC 2231 (`filename*=utf-8''…`),
which QQ Mail shows as `tcmime.1234.bin`. Foxmail, QQ Mail and Outlook all read
one RFC 2047 word inside the quoted value (`name="=?utf-8?b?…?="`), the form
their own composers produce, so that is what is written here. The word is kept
whole even past 75 characters (those clients do not join split words
reliably); the header is folded between parameters instead.
"""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage, MIMEPart

_PLAIN_NAME = re.compile(r'[ -~]+')  # printable ASCII: no encoding needed
_TYPE = re.compile(r"[A-Za-z0-9!#$&.+^_-]+/[A-Za-z0-9!#$&.+^_-]+")


class _PreFoldedHeader(str):
    """A header value the policy must write verbatim (EmailPolicy calls .fold() on objects with .name)."""

    def __new__(cls, name: str, lines: list[str]) -> "_PreFoldedHeader":
        value = super().__new__(cls, " ".join(lines))
        value.name = name
        value.lines = lines
        return value

    def fold(self, *, policy) -> str:
        linesep = policy.linesep
        return f"{self.name}: " + f"{linesep} ".join(self.lines) + linesep


def filename_param(filename: str) -> str:
    """The quoted parameter value: the plain name when ASCII, else one UTF-8 base64 encoded word."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", filename)
    if _PLAIN_NAME.fullmatch(name) and '"' not in name and "\\" not in name:
        return f'"{name}"'
    return '"=?utf-8?b?' + base64.b64encode(name.encode("utf-8")).decode("ascii") + '?="'


def add_attachment(msg: EmailMessage, data: bytes, filename: str, mimetype: str) -> None:
    """Attach `data` to `msg` (made multipart/mixed when needed) under `filename`."""
    mimetype = mimetype.strip().lower() if _TYPE.fullmatch(mimetype.strip()) else "application/octet-stream"
    _make_mixed(msg)
    value = filename_param(filename)
    part = MIMEPart(policy=msg.policy)
    part.set_raw("Content-Type", _PreFoldedHeader("Content-Type", [f"{mimetype};", f"name={value}"]))
    part.set_raw("Content-Transfer-Encoding", "base64")
    part.set_raw("Content-Disposition", _PreFoldedHeader("Content-Disposition", ["attachment;", f"filename={value}"]))
    encoded = base64.b64encode(data).decode("ascii")
    part.set_payload("".join(encoded[i:i + 76] + "\n" for i in range(0, len(encoded), 76)))
    msg.attach(part)


def _make_mixed(msg: EmailMessage) -> None:
    if msg.get_content_type() == "multipart/mixed":
        return
    if not msg.is_multipart() and msg.get_payload() and "Content-Type" not in msg:
        msg["Content-Type"] = 'text/plain; charset="utf-8"'  # keep a bare body as the first part
    msg.make_mixed()
