"""Raw mail bytes -> InboundMessage, for any bytes a sender or an attacker can produce.

The stdlib parser (compat32, the one mail-parser wraps) only splits the MIME tree;
every header, parameter and body is decoded by bot.message.decode, because the
stock decoders garble the Chinese shapes real clients send. Dates come from
mail-parser's RFC 5322 date reader, which is right. Limits are checked before
the step they protect; whatever is skipped or repaired is listed in `notes`.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailparser.dates import parse_mail_date

from bot.errors import InputError
from bot.message.decode import (
    attachment_name,
    decode_text,
    decode_transfer,
    decode_words,
    parse_params,
    raw_header_text,
    to_bytes,
    unfold,
)
from bot.message.html import html_to_text, sniff_charset
from bot.message.limits import (
    DEFAULT_LIMITS,
    MailLimits,
    cut_excess_boundaries,
    truncate_header_lines,
)
from bot.message.model import Attachment, InboundMessage
from bot.message.sender import sender_of

_BODY_TYPES = ("text/plain", "text/html")


def parse_message(raw: bytes, limits: MailLimits | None = None) -> InboundMessage:
    """Parse one mail. Raises InputError only for empty input; anything else gives a message."""
    raw = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    if not raw:
        raise InputError("empty message: no bytes to parse")
    limits = limits or DEFAULT_LIMITS
    try:
        if len(raw) > limits.max_message_bytes:
            note = f"message of {len(raw)} bytes over the limit of {limits.max_message_bytes}: headers only"
            return _headers_only(raw, limits, note)
        return _parse_full(raw, limits)
    except Exception as exc:  # the contract is "never raise": keep the headers and say why
        note = f"MIME structure unreadable ({type(exc).__name__}: {str(exc)[:200]}): headers only"
        return _headers_only(raw, limits, note)


def parse_headers(raw: bytes, limits: MailLimits | None = None) -> InboundMessage:
    """Only the header block: cheap and bounded on any input. Used for a mail whose full reading
    overran its limits, so that it can still be answered."""
    raw = bytes(raw)
    return _headers_only(raw, limits or DEFAULT_LIMITS, "read headers only: the full reading overran its limits")


def _parse_full(raw: bytes, limits: MailLimits) -> InboundMessage:
    notes: list[str] = []
    prepared = cut_excess_boundaries(truncate_header_lines(raw, limits, notes), limits, notes)
    msg = email.message_from_bytes(prepared, policy=compat32)
    walker = _Walker(limits, notes)
    walker.walk(msg, depth=0, nested=False)
    walker.finish()
    return _build(raw, msg, limits, notes, walker.body_text(), walker.attachments)


def _headers_only(raw: bytes, limits: MailLimits, note: str) -> InboundMessage:
    notes = [note]
    try:
        head = _split_head(raw)[0][: limits.max_header_line * 100]  # headers-only must stay cheap
        msg = BytesHeaderParser(policy=compat32).parsebytes(head)
        return _build(raw, msg, limits, notes, "", [])
    except Exception as exc:  # even the header block is unusable: an empty shell keeps the raw copy
        notes.append(f"headers unreadable ({type(exc).__name__})")
        return _build(raw, Message(), limits, notes, "", [])


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return raw, b""
    cut = min(ends)
    sep = 4 if raw.startswith(b"\r\n\r\n", cut) else 2
    return raw[:cut + sep], raw[cut + sep:]


# --- MIME walk ------------------------------------------------------------------------------


@dataclass
class _PartInfo:
    ctype: str
    type_params: dict[str, str]
    disposition: str
    name: str
    cte: str


def _first_raw(part: Message, name: str) -> tuple[str | None, int]:
    """First raw value of a header (8-bit bytes still as surrogates) and how often it occurs."""
    values = [v for k, v in part.raw_items() if k.lower() == name and isinstance(v, str)]
    return (values[0] if values else None), len(values)


def _part_info(part: Message, limits: MailLimits, notes: list[str]) -> _PartInfo:
    ct_raw, count = _first_raw(part, "content-type")
    if count > 1:
        notes.append("duplicated Content-Type headers: the first one is used")
    ctype, tparams = parse_params(ct_raw[: limits.max_header_line]) if ct_raw else ("", {})
    if not re.fullmatch(r"[a-z0-9!#$&.+^_`{}~-]+/[a-z0-9!#$&.+^_`{}~-]+", ctype):
        ctype = part.get_default_type()  # missing or malformed: RFC 2045 default
    cd_raw, _ = _first_raw(part, "content-disposition")
    disposition, dparams = parse_params(cd_raw[: limits.max_header_line]) if cd_raw else ("", {})
    cte_raw, _ = _first_raw(part, "content-transfer-encoding")
    return _PartInfo(ctype, tparams, disposition, attachment_name(tparams, dparams), cte_raw or "")


def _payload_bytes(part: Message) -> bytes:
    # get_payload() re-decodes 8-bit text with the declared charset ("gb2312": 镕喆 lost, with
    # errors="replace"), so the undecoded payload is read from the stored attribute instead.
    payload = getattr(part, "_payload", None)
    if isinstance(payload, str):
        return to_bytes(payload)
    return payload if isinstance(payload, bytes) else b""


@dataclass
class _Walker:
    limits: MailLimits
    notes: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    bodies: dict[tuple[bool, str], list[str]] = field(default_factory=dict)  # (nested, type) -> texts
    seen: int = 0
    over_count: int = 0
    over_depth: int = 0

    def walk(self, part: Message, depth: int, nested: bool) -> None:
        self.seen += 1
        if self.seen > self.limits.max_parts or depth > self.limits.max_depth:
            self._skip(part, depth)
            return
        info = _part_info(part, self.limits, self.notes)
        payload = part.get_payload()
        if isinstance(payload, list) and info.ctype == "message/delivery-status":
            # the stdlib splits a DSN into header blocks; loop detection wants it as one part
            self._add_attachment(info, b"".join(_flatten(c) for c in payload))
        elif isinstance(payload, list):
            inner = nested or info.ctype.startswith("message/")
            for child in payload:
                if isinstance(child, Message):
                    self.walk(child, depth + 1, inner)
        else:
            self._leaf(part, info, nested)

    def _skip(self, part: Message, depth: int) -> None:
        over_depth = depth > self.limits.max_depth
        self.over_depth += over_depth
        self.over_count += not over_depth
        info = _part_info(part, self.limits, self.notes)
        if info.name or not info.ctype.startswith(("text/", "multipart/", "message/")):
            # `skipped` is quoted in the Chinese reply to the sender, so it is Chinese.
            reason = (f"邮件嵌套超过 {self.limits.max_depth} 层，未读取" if over_depth
                      else f"邮件超过 {self.limits.max_parts} 个部分，未读取")
            self.attachments.append(Attachment(info.name, info.ctype, b"", skipped=reason))

    def _leaf(self, part: Message, info: _PartInfo, nested: bool) -> None:
        if info.ctype.startswith("multipart/"):
            self.notes.append(f"{info.ctype} without a usable boundary: read as plain text")
            info.ctype = "text/plain"
        is_body = info.ctype in _BODY_TYPES and not info.name and info.disposition != "attachment"
        if is_body:
            self._add_body(part, info, nested)
        else:
            self._add_attachment(info, _payload_bytes(part))

    def _add_body(self, part: Message, info: _PartInfo, nested: bool) -> None:
        data, note = decode_transfer(_payload_bytes(part), info.cte)
        charset = info.type_params.get("charset")
        if info.ctype == "text/html" and not charset:
            charset = sniff_charset(data)
        text, charset_note = decode_text(data, charset)
        for n in (note, charset_note):
            if n:
                self.notes.append(f"{info.ctype} body: {n}")
        self.bodies.setdefault((nested, info.ctype), []).append(text)

    def _add_attachment(self, info: _PartInfo, payload: bytes) -> None:
        limit = self.limits.max_attachment_bytes
        size = _estimated_size(payload, info.cte)
        if size <= limit:
            data, note = decode_transfer(payload, info.cte)
            size = len(data)
            if note:
                self.notes.append(f"attachment {info.name!r}: {note}")
        if size > limit:
            self.notes.append(f"attachment {info.name!r} skipped: {size} bytes, over the limit of {limit}")
            reason = f"附件大小约 {_human(size)}，超过 {_human(limit)} 的上限"
            self.attachments.append(Attachment(info.name, info.ctype, b"", skipped=reason))
            return
        self.attachments.append(Attachment(info.name, info.ctype, data))

    def finish(self) -> None:
        if self.over_count:
            self.notes.append(f"{self.over_count} MIME part(s) beyond the first {self.limits.max_parts} skipped")
        if self.over_depth:
            self.notes.append(f"{self.over_depth} MIME part(s) nested deeper than {self.limits.max_depth} skipped")

    def body_text(self) -> str:
        """Top-level text/plain, else its HTML as text; a forwarded mail's body only when the top has none."""
        for nested in (False, True):
            plain = "\n".join(self.bodies.get((nested, "text/plain"), []))
            if plain.strip():
                return _clean_text(plain)
            html = "\n".join(html_to_text(h) for h in self.bodies.get((nested, "text/html"), []))
            if html.strip():
                return _clean_text(html)
        return ""


def _human(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} 字节"


def _estimated_size(payload: bytes, cte: str) -> int:
    """Decoded size guessed without decoding, so an oversized part costs nothing."""
    if cte.strip().lower() == "base64":
        body = payload.rstrip()
        padding = len(body) - len(body.rstrip(b"="))
        return (len(body) - body.count(b"\n") - body.count(b"\r")) * 3 // 4 - padding
    return len(payload)


def _flatten(part: Message) -> bytes:
    try:
        return part.as_bytes()
    except Exception:  # a hostile sub-block that cannot be re-serialised is dropped from the blob
        return b""


def _clean_text(text: str) -> str:
    # NUL cannot be stored in PostgreSQL text; CRLF differences are transport, not content.
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


# --- headers -> InboundMessage ---------------------------------------------------------------


def _header_pairs(msg: Message, limits: MailLimits, notes: list[str]) -> list[tuple[str, str, str]]:
    """(name, unfolded raw text, decoded text) for each top-level header, in order."""
    pairs, cut, nul = [], 0, False
    for name, value in msg.raw_items():
        text = raw_header_text(unfold(value if isinstance(value, str) else str(value)))
        if len(text) > limits.max_header_line:
            text, cut = text[: limits.max_header_line], cut + 1
        if "\x00" in text or "\x00" in name:
            text, name, nul = text.replace("\x00", ""), name.replace("\x00", ""), True
        pairs.append((raw_header_text(name).strip(), text, _one_line(decode_words(text))))
    if cut:
        notes.append(f"{cut} unfolded header(s) over {limits.max_header_line} characters truncated")
    if nul:
        notes.append("NUL bytes removed from headers")
    return pairs


_LINE_BREAKS = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]+")


def _one_line(text: str) -> str:
    """A decoded header value on one line: an encoded word may hide CR, LF, U+2028 and the like,
    which would break every header we build from it (a reply's subject)."""
    return _LINE_BREAKS.sub(" ", text).strip()


def _build(raw: bytes, msg: Message, limits: MailLimits, notes: list[str], text_body: str,
           attachments: list[Attachment]) -> InboundMessage:
    pairs = _header_pairs(msg, limits, notes)
    first = {}
    for name, text, _decoded in pairs:
        first.setdefault(name.lower(), text)
    sender = sender_of([t for n, t, _ in pairs if n.lower() == "from"])
    from_addr = sender.address
    return InboundMessage(
        raw=raw,
        message_id=_msg_id(first.get("message-id", "")) or _digest_id(raw, from_addr, first.get("date", "")),
        from_addr=from_addr,
        from_name=sender.name,
        sender_problem=sender.problem,
        to=[a for _, a in _addresses([t for n, t, _ in pairs if n.lower() == "to"])],
        cc=[a for _, a in _addresses([t for n, t, _ in pairs if n.lower() == "cc"])],
        subject=_one_line(decode_words(first.get("subject", ""))),
        date=_date(first.get("date", "")),
        in_reply_to=_msg_id(first.get("in-reply-to", "")),
        references=_all_ids(first.get("references", "")),
        headers=[(n, d) for n, _, d in pairs],
        text_body=text_body,
        attachments=attachments,
        notes=notes,
    )


_ADDR = re.compile(r"[^\s<>\"',;:()]+@[^\s<>\"',;:()]+")


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs; names may hold RFC 2047 words inside quotes."""
    values = [v for v in values if v]
    try:
        found = [(decode_words(n).strip(), a.strip().lower()) for n, a in email.utils.getaddresses(values)]
    except Exception:  # the stdlib address parser has choked on hostile input before
        found = []
    # keep user@host, and bare local names like MAILER-DAEMON; drop "@@@"-style debris
    found = [(n, a) for n, a in found if re.fullmatch(r"[^@\s]+(@[^@\s]+)?", a)]
    if not found:  # salvage bare addresses from a header the parser could not read
        found = [("", a.lower()) for v in values for a in _ADDR.findall(v)]
    return found


def _msg_id(value: str) -> str:
    m = re.search(r"<([^<>]*)>", value)
    ident = m.group(1) if m else (value.split() or [""])[0]
    return re.sub(r"\s+", "", ident)


def _all_ids(value: str) -> list[str]:
    ids = re.findall(r"<([^<>]*)>", value) or value.split()
    return [re.sub(r"\s+", "", i) for i in ids if i.strip()]


def _digest_id(raw: bytes, from_addr: str, date: str) -> str:
    """Stable id for a mail without Message-ID: the same mail always gets the same id."""
    body = _split_head(raw)[1].replace(b"\r\n", b"\n")  # IMAP gives CRLF, Maildir LF
    digest = hashlib.sha256(f"{from_addr}|{date.strip()}|".encode("utf-8", "surrogateescape") + body)
    return f"{digest.hexdigest()[:32]}@digest.invalid"


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parse_mail_date(value).value
    except Exception:  # mail-parser's reader is strict about syntax; the stdlib one is a second try
        parsed = None
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except Exception:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
