"""Size and shape limits applied while reading one inbound mail.

A hostile mail must not cost more than seconds and a few hundred MB, so every
limit is checked before the expensive step it protects (decoding, walking).
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class MailLimits:
    max_message_bytes: int = 30 * MB  # over it: headers only, no body, no attachments
    max_parts: int = 200  # MIME entities walked; the rest are skipped with one note
    max_depth: int = 20  # nesting of multipart and message/rfc822
    max_attachment_bytes: int = 20 * MB  # decoded size of one part
    max_header_line: int = 10_000  # characters; longer header lines are truncated


DEFAULT_LIMITS = MailLimits()


# Raw guards: applied to the bytes before the stdlib parser sees them.


def truncate_header_lines(raw: bytes, limits: MailLimits, notes: list[str]) -> bytes:
    """Cut header lines over the limit; body lines (one-line base64, long HTML) are left alone."""
    lines = raw.split(b"\n")
    limit = limits.max_header_line
    if max(map(len, lines)) <= limit:
        return raw
    in_headers, cut = True, 0
    for i, line in enumerate(lines):
        bare = line.rstrip(b"\r")
        if not bare.strip():
            in_headers = False
        elif not in_headers and bare.startswith(b"--") and len(bare) <= 200:
            in_headers = True  # a boundary: the part's headers follow
        elif in_headers and len(bare) > limit:
            lines[i] = bare[:limit] + line[len(bare):]
            cut += 1
    if cut:
        notes.append(f"{cut} header line(s) over {limit} characters truncated")
    return b"\n".join(lines)


def cut_excess_boundaries(raw: bytes, limits: MailLimits, notes: list[str]) -> bytes:
    """Stop the stdlib parser from building a tree of 100,000 parts we would skip anyway."""
    allowed = 2 * limits.max_parts + 10  # every part has one boundary line, containers two
    if raw.count(b"\n--") <= allowed:
        return raw
    pos = -1
    for _ in range(allowed + 1):
        pos = raw.find(b"\n--", pos + 1)
    notes.append(f"message cut after {allowed} MIME boundaries (part limit {limits.max_parts})")
    return raw[: pos + 1]
