"""Did our own receiving server authenticate the sender? (RFC 8601 Authentication-Results)

Any server on the way, and the sender itself, can write an Authentication-Results header, so only
the topmost one written under our own server's name (`authserv_id`) counts: servers add theirs on
top, and ours is the last to receive the mail. The mail is authenticated when that header shows,
for the domain of the From address, an aligned DMARC pass, a DKIM pass, or an SPF pass for an
aligned envelope sender, among the methods the office accepts. No header, another server's header,
or none/neutral/temperror/softfail/fail are not a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.message.model import InboundMessage
from bot.message.sender import problem_cn

METHODS = ("dmarc", "dkim", "spf")
_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)\b([^;]*)", re.I)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom|smtp\.helo)\s*=\s*\"?([^\s;\"]+)",
                       re.I)
_MAX_HEADER = 4000  # characters of one header looked at


@dataclass(frozen=True)
class AuthResult:
    passed: bool
    method: str = ""  # which check passed
    why: str = ""  # English, for logs, when it did not pass
    failed: bool = False  # our server saw an explicit failure (fail/softfail/permerror)
    why_cn: str = ""  # the same for the admin


NOT_CONFIGURED_CN = "尚未配置本单位收信服务器的验证标识（authserv_id），来信一律视为未经验证"
NO_VERDICT_CN = "本单位收信服务器未对该邮件作出发件人验证结论"
FAILED_CN = "本单位收信服务器验证该邮件发件人失败，可能是伪造的发件地址"
NOT_PASSED_CN = "本单位收信服务器未能验证该邮件确由发件人域名发出"


def authenticate(msg: InboundMessage, authserv_id: str,
                 methods: tuple[str, ...] = METHODS) -> AuthResult:
    if msg.sender_problem:
        return AuthResult(False, why=f"sender not trusted: {msg.sender_problem}",
                          why_cn=problem_cn(msg.sender_problem))
    if not authserv_id:
        return AuthResult(False, why="no authserv_id configured: no mail counts as authenticated",
                          why_cn=NOT_CONFIGURED_CN)
    header = _our_header(msg, authserv_id)
    if header is None:
        return AuthResult(False, why=f"no Authentication-Results from {authserv_id}",
                          why_cn=NO_VERDICT_CN)
    domain = msg.from_addr.rpartition("@")[2].lower()
    results = [(m.group(1).lower(), m.group(2).lower(), _properties(m.group(3)))
               for m in _RESULT.finditer(header[:_MAX_HEADER])]
    for method, result, props in results:
        if method in methods and result == "pass" and _aligned(method, props, domain):
            return AuthResult(True, method)
    failed = any(result in ("fail", "softfail", "permerror") for _m, result, _p in results)
    seen = ", ".join(f"{m}={r}" for m, r, _p in results) or "no results"
    return AuthResult(False, why=f"{authserv_id}: {seen} for {domain}", failed=failed,
                      why_cn=FAILED_CN if failed else NOT_PASSED_CN)


def _our_header(msg: InboundMessage, authserv_id: str) -> str | None:
    """The topmost Authentication-Results written under our server's name."""
    wanted = authserv_id.strip().lower()
    for value in msg.header_all("Authentication-Results"):
        server = value.split(";", 1)[0].strip().split()
        if server and server[0].lower() == wanted:
            return value
    return None


def _properties(text: str) -> dict[str, str]:
    return {k.lower(): v.strip("<>").lower() for k, v in _PROPERTY.findall(text)}


def _aligned(method: str, props: dict[str, str], domain: str) -> bool:
    """The authenticated domain belongs to the From domain (relaxed alignment: the same domain, or
    one a subdomain of the other, as DMARC's relaxed mode allows within one organisation)."""
    if method == "dmarc":
        checked = props.get("header.from", domain)
    elif method == "dkim":
        checked = props.get("header.d") or props.get("header.i", "").rpartition("@")[2]
    else:
        checked = props.get("smtp.mailfrom", "").rpartition("@")[2]
    return bool(checked) and _same_organisation(checked, domain)


def _same_organisation(a: str, b: str) -> bool:
    a, b = a.strip(".").lower(), b.strip(".").lower()
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))
