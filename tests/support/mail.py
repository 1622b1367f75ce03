"""Mail as the office's own receiving server hands it over: stamped with its Authentication-Results."""

from __future__ import annotations

from tests.support.botenv import AUTHSERV


def authenticated(raw: bytes, *, server: str = AUTHSERV, result: str = "pass") -> bytes:
    """`raw` with our server's verdict on top: DKIM and DMARC `result` for its From domain."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    sender = next((line for line in head.splitlines() if line.lower().startswith(b"from:")), b"")
    domain = sender.rsplit(b"@", 1)[-1].strip(b"> \r\n").decode("ascii", "replace").lower()
    stamp = (f"Authentication-Results: {server};\r\n\tdkim={result} header.d={domain};\r\n"
             f"\tdmarc={result} header.from={domain}\r\n").encode()
    return stamp + raw
