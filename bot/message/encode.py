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
import secrets
from email.message import EmailMessage, MIMEPart
from email.utils import formataddr

_PLAIN_NAME = re.compile(r'[ -~]+')  # printable ASCII: no encoding needed
_SIMPLE_ADDRESS = re.compile(r'[!#-\'*-+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+')  # addr-spec, nothing to quote
MAX_LINE = 78  # RFC 5322's recommended line length; the email package refolds a longer line
WORD = len("=?utf-8?b??=")  # an encoded word's frame around its base64
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


def word_bytes(name: str) -> int:
    """UTF-8 bytes per encoded word in header `name`: as many as let `name: ` and one word fit in a
    line of MAX_LINE, and never a word over RFC 2047's 75 characters (45 bytes, 60 of base64)."""
    return min(45, (MAX_LINE - len(name) - 2 - WORD) // 4 * 3)


def encoded_words(text: str, size: int = 45) -> list[str]:
    """`text` as UTF-8 base64 encoded words (RFC 2047) of at most `size` bytes, each cut between two
    characters so that every word decodes alone."""
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and 0x80 <= data[end] < 0xC0:  # inside a character: cut before it
            end -= 1
        words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode("ascii") + "?=")
        start = end
    return words


def folded(name: str, tokens: list[str]) -> str:
    """`tokens` separated by single spaces, a new line begun wherever the next one would pass
    MAX_LINE; a token is never cut (a longer line is left to the email package)."""
    lines, width = [tokens[0]], len(name) + 2 + len(tokens[0])
    for token in tokens[1:]:
        if width + 1 + len(token) <= MAX_LINE:
            lines[-1] += " " + token
            width += 1 + len(token)
        else:
            lines.append(token)
            width = 1 + len(token)
    return "\n ".join(lines)


# Headers are written already folded and encoded (set_raw): the email package's own header
# objects parse every value on the way in and fold it again on the way out, ~1.5 ms per mail.
# What the fast form does not cover (a long ASCII subject, an address that is not a plain
# addr-spec) is assigned normally and the email package encodes it.

def set_text(msg: EmailMessage, name: str, text: str) -> None:
    """An unstructured header (Subject): plain when short ASCII, else encoded words. ASCII that
    looks like an encoded word is encoded too, or a client would decode a sender's text (the
    email package writes it as it is)."""
    if not text.isascii() or "=?" in text:
        msg.set_raw(name, folded(name, encoded_words(text, word_bytes(name))))
    elif len(name) + 2 + len(text) <= MAX_LINE and _PLAIN_NAME.fullmatch(text):
        msg.set_raw(name, text)
    else:
        msg[name] = text


def set_addresses(msg: EmailMessage, name: str, pairs: list[tuple[str, str]]) -> None:
    """An address header from (display name, address) pairs; a non-ASCII name as encoded words."""
    if not pairs:
        return
    if not all(_SIMPLE_ADDRESS.fullmatch(address) for _name, address in pairs):
        msg[name] = ", ".join(formataddr(pair) if pair[0] else pair[1] for pair in pairs)
        return
    tokens = []
    for i, (display, address) in enumerate(pairs):
        comma = "," if i < len(pairs) - 1 else ""
        if not display:
            tokens.append(address + comma)
        elif display.isascii():
            tokens.append(formataddr((display, address)) + comma)
        else:
            tokens += [*encoded_words(display, word_bytes(name)), f"<{address}>{comma}"]
    msg.set_raw(name, folded(name, tokens))


def set_text_body(msg: EmailMessage, text: str) -> None:
    """The body as UTF-8 text in base64: what set_content(charset="utf-8", cte="base64") writes."""
    msg.set_raw("MIME-Version", "1.0")
    msg.set_raw("Content-Type", 'text/plain; charset="utf-8"')
    msg.set_raw("Content-Transfer-Encoding", "base64")
    msg.set_payload(base64_lines(text.encode("utf-8")))


def base64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[i:i + 76] + "\n" for i in range(0, len(encoded), 76))


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
    part.set_payload(base64_lines(data))
    msg.attach(part)


def _make_mixed(msg: EmailMessage) -> None:
    if msg.is_multipart():
        if msg.get_content_type() != "multipart/mixed":
            msg.make_mixed()
        return
    if msg.get_payload() and "Content-Type" not in msg:
        msg["Content-Type"] = 'text/plain; charset="utf-8"'  # keep a bare body as the first part
    _single_to_mixed(msg)


def _single_to_mixed(msg: EmailMessage) -> None:
    """What msg.make_mixed() does to a message that is not multipart: its Content-* headers and
    body move into a first part, and it becomes multipart/mixed. make_mixed asks for the content
    type first and parses the new Content-Type through the policy (~0.4 ms of composing a
    referral); the type is known here, and the value is written as the bare type it stores."""
    content = [(name, value) for name, value in msg._headers if name.lower().startswith("content-")]
    if content:
        part = type(msg)(policy=msg.policy)
        part._headers, part._payload = content, msg._payload
        msg._payload = [part]
    else:
        msg._payload = []
    msg._headers = [(name, value) for name, value in msg._headers if not name.lower().startswith("content-")]
    msg.set_raw("Content-Type", "multipart/mixed")


# -- writing the message out ------------------------------------------------------------------------
#
# The email package's generator asks every part for its content type, charset and boundary on the
# way out, and each question parses the Content-Type header again (~0.8 ms for a reply with a
# document, the largest part of composing it). The mails built above have one shape: headers
# already folded, then a text body, or multipart/mixed of the text part and attachments, every
# payload ASCII (base64). Those are written here as the generator writes them
# (tests/test_message_encode.py compares the bytes); any other shape goes to the generator.

BOUNDARY_DIGITS = 19  # as the email package makes one: 15 "=", 19 digits, "=="


def flatten(msg: EmailMessage) -> bytes:
    """`msg.as_bytes()`, faster for the shapes built by this module."""
    if msg.preamble is None and msg.epilogue is None:
        if not msg.is_multipart():
            leaf = _leaf(msg)
            if leaf is not None:
                return leaf
        elif _plain_mixed(msg):
            parts = [_leaf(part) for part in msg.get_payload()]
            if all(part is not None for part in parts):
                return _mixed(msg, parts)
    return msg.as_bytes()


def _leaf(part) -> bytes | None:
    payload = part._payload
    if part.preamble is not None or part.epilogue is not None or not isinstance(payload, str) \
            or not payload.isascii() or "\r" in payload:
        return None  # not what set_text_body / add_attachment write
    return _headers(part, part.raw_items()) + b"\n" + payload.encode("ascii")


def _plain_mixed(msg: EmailMessage) -> bool:
    """multipart/mixed as make_mixed leaves it: its Content-Type is the bare type, no boundary yet."""
    types = [value for name, value in msg.raw_items() if name.lower() == "content-type"]
    return len(types) == 1 and str(types[0]) == "multipart/mixed" and \
        all(not part.is_multipart() for part in msg.get_payload())


def _mixed(msg: EmailMessage, parts: list[bytes]) -> bytes:
    boundary = _boundary(parts)
    mark = b"--" + boundary.encode("ascii")
    items = [(name, value) for name, value in msg.raw_items() if name.lower() != "content-type"]
    head = _headers(msg, items) + f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'.encode("ascii")
    return head + mark + b"\n" + (b"\n" + mark + b"\n").join(parts) + b"\n" + mark + b"--\n"


def _boundary(parts: list[bytes]) -> str:
    """A boundary that no line of the parts starts with (base64 lines never do)."""
    while True:
        boundary = "=" * 15 + f"{secrets.randbelow(10 ** BOUNDARY_DIGITS):0{BOUNDARY_DIGITS}d}" + "=="
        if not any(b"--" + boundary.encode("ascii") in part for part in parts):
            return boundary


def _headers(msg, items) -> bytes:
    policy = msg.policy
    return b"".join(policy.fold_binary(name, value) for name, value in items)
