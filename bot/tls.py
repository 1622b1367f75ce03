"""Connection security for the mail servers: which modes exist, where plaintext may go, and the
verifying TLS context. Read by the config (refused at load time) and by both mail connections."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from bot.errors import ConfigError

SECURITY_MODES = ("tls", "starttls", "plain")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost: the only hosts where plaintext is allowed."""
    if host.strip().lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_security(security: str, host: str, what: str) -> None:
    """Refuse unknown modes and plaintext to anything but loopback (credentials would travel in clear)."""
    if security not in SECURITY_MODES:
        raise ConfigError(f"{what}.security 应为 {'、'.join(SECURITY_MODES)} 之一，而不是“{security}”")
    if security == "plain" and not is_loopback(host):
        raise ConfigError(f"{what}.security 设为 \"plain\"（不加密）只允许本机回环地址，{host} 不是；"
                          "请改用 \"tls\" 或 \"starttls\"")


def tls_context(security: str, cafile: str | Path | None, what: str) -> ssl.SSLContext | None:
    """A verifying client context (system store, or `cafile` for a private CA); None for plaintext."""
    if security == "plain":
        return None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:  # at start-up, as a config error, not as a retryable failure
        raise ConfigError(f"{what}.cafile {cafile} 无法作为 CA 证书读取：{exc}") from exc
