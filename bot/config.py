"""config.toml -> frozen dataclasses. Secrets come from the environment or files, never the TOML.

With no config file the embedded default runs: a Maildir inbox under storage/mail/, outgoing mail
written to the Maildir storage/outbox/, SQLite at storage/bot.db, rules/ and templates/ beside it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.errors import ConfigError
from bot.tls import is_loopback


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int = 993
    security: str = "tls"  # tls | starttls | plain (loopback only)
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: str | None = None
    inbox: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    sent_folder: str = "Sent"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 465
    security: str = "tls"
    username: str = ""
    password: str = field(default="", repr=False)
    cafile: str | None = None
    # A copy of each mail to our own mailbox proves delivery after a crash (bot.outbox.confirm).
    sent_copy: bool = True
    sent_copy_grace_seconds: float = 30.0
    connections: int = 2  # replies leave over this many SMTP connections at once


@dataclass(frozen=True)
class TrustConfig:
    """Whose word the bot takes (see README, Security)."""

    # The name our own receiving server writes into Authentication-Results; only its topmost
    # header counts. Empty: no mail is authenticated, so every admin or unit action is held.
    authserv_id: str = ""
    methods: tuple[str, ...] = ("dmarc", "dkim", "spf")  # which passes authenticate a sender
    hold_hours: int = 72  # a held action's confirmation code expires after this long


@dataclass(frozen=True)
class Config:
    base_dir: Path
    storage_dir: Path
    rules_dir: Path
    templates_dir: Path
    database_url: str
    maildir: Path  # embedded inbox (used when imap is None)
    outbox_maildir: Path  # embedded outbox (used when smtp is None)
    imap: ImapConfig | None = None
    smtp: SmtpConfig | None = None
    message_id_domain: str = "reception-bot.local"
    from_name: str = "市长服务民营企业接待日"
    poll_seconds: float = 30.0
    max_attempts: int = 5
    rate_limit_per_recipient: int = 20  # automatic mails per recipient per rolling window
    rate_window_hours: int = 24
    bounce_suppress_days: int = 7
    parse_workers: int = field(default_factory=lambda: _default_workers())  # processes reading forms
    mail_seconds: float = 60.0  # wall time one mail may take to be parsed and read (OCR included)
    mail_memory_mb: int = 1024  # resident memory of a worker and its children for one mail
    batch_bytes: int = 64 * 2**20  # raw bytes fetched per batch (at least one mail)
    trust: TrustConfig = field(default_factory=TrustConfig)
    source_path: Path | None = None

    @property
    def archive_dir(self) -> Path:
        return self.storage_dir / "archive"

    @property
    def documents_dir(self) -> Path:
        return self.storage_dir / "documents"


def embedded_default(base_dir: Path) -> Config:
    """The zero-configuration set-up a newcomer gets: everything under ./storage."""
    storage = base_dir / "storage"
    return Config(
        base_dir=base_dir,
        storage_dir=storage,
        rules_dir=base_dir / "rules",
        templates_dir=base_dir / "templates",
        database_url=f"sqlite:///{storage / 'bot.db'}",
        maildir=storage / "mail",
        outbox_maildir=storage / "outbox",
    )


def load_config(path: Path | None, base_dir: Path | None = None) -> Config:
    """Load `path`, or ./config.toml when present, or the embedded default."""
    base_dir = (base_dir or Path.cwd()).resolve()
    if path is None:
        candidate = base_dir / "config.toml"
        if not candidate.exists():
            return embedded_default(base_dir)
        path = candidate
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return _from_dict(data, path, path.parent.resolve())


_TOP_KEYS = {
    "storage_dir", "rules_dir", "templates_dir", "database_url", "maildir", "outbox_maildir",
    "message_id_domain", "from_name", "poll_seconds", "max_attempts", "rate_limit_per_recipient",
    "rate_window_hours", "bounce_suppress_days", "parse_workers", "imap", "smtp",
    "mail_seconds", "mail_memory_mb", "batch_bytes", "trust",
}
_TRUST_KEYS = {"authserv_id", "methods", "hold_hours"}
_MAIL_KEYS = {"host", "port", "security", "username", "password_env", "password_file", "cafile"}
_IMAP_KEYS = _MAIL_KEYS | {"inbox", "processed_folder", "quarantine_folder", "sent_folder"}
_SMTP_KEYS = _MAIL_KEYS | {"sent_copy", "sent_copy_grace_seconds", "connections"}


def _from_dict(data: dict, path: Path, base: Path) -> Config:
    _reject_unknown(data, _TOP_KEYS, path, "")
    default = embedded_default(base)
    storage = _path(data.get("storage_dir"), base, default.storage_dir)
    db_env = os.environ.get("RECEPTION_BOT_DATABASE_URL")
    cfg = replace(
        default,
        storage_dir=storage,
        rules_dir=_path(data.get("rules_dir"), base, default.rules_dir),
        templates_dir=_path(data.get("templates_dir"), base, default.templates_dir),
        database_url=db_env or data.get("database_url") or f"sqlite:///{storage / 'bot.db'}",
        maildir=_path(data.get("maildir"), base, storage / "mail"),
        outbox_maildir=_path(data.get("outbox_maildir"), base, storage / "outbox"),
        source_path=path,
    )
    simple = {k: data[k] for k in ("message_id_domain", "from_name", "poll_seconds", "max_attempts",
                                   "rate_limit_per_recipient", "rate_window_hours",
                                   "bounce_suppress_days", "mail_seconds", "mail_memory_mb",
                                   "batch_bytes") if k in data}
    cfg = replace(cfg, **simple)
    if "parse_workers" in data:
        workers = data["parse_workers"]
        if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= 64:
            raise ConfigError(f"{path}: parse_workers must be a whole number from 0 to 64")
        cfg = replace(cfg, parse_workers=workers)
    if "trust" in data:
        cfg = replace(cfg, trust=_trust(data["trust"], path))
    if "imap" in data:
        cfg = replace(cfg, imap=_imap(data["imap"], path))
    if "smtp" in data:
        cfg = replace(cfg, smtp=_smtp(data["smtp"], path))
    return cfg


def _trust(section: dict, path: Path) -> TrustConfig:
    _reject_unknown(section, _TRUST_KEYS, path, "trust.")
    methods = tuple(section.get("methods", TrustConfig.methods))
    unknown = [m for m in methods if m not in ("dmarc", "dkim", "spf")]
    if unknown:
        raise ConfigError(f"{path}: trust.methods may hold dmarc, dkim and spf, not {unknown[0]!r}")
    hours = section.get("hold_hours", TrustConfig.hold_hours)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 30:
        raise ConfigError(f"{path}: trust.hold_hours must be a whole number of hours from 1 to 720")
    return TrustConfig(authserv_id=str(section.get("authserv_id", "")).strip(), methods=methods,
                       hold_hours=hours)


def _imap(section: dict, path: Path) -> ImapConfig:
    _reject_unknown(section, _IMAP_KEYS, path, "imap.")
    _require(section, "host", path, "imap.")
    extra = {k: section[k] for k in ("port", "security", "username", "cafile", "inbox",
                                     "processed_folder", "quarantine_folder", "sent_folder")
             if k in section}
    _check_security(extra.get("security", "tls"), section["host"], path, "imap.")
    return ImapConfig(host=section["host"], password=_secret(section, path, "imap."), **extra)


def _smtp(section: dict, path: Path) -> SmtpConfig:
    _reject_unknown(section, _SMTP_KEYS, path, "smtp.")
    _require(section, "host", path, "smtp.")
    extra = {k: section[k] for k in ("port", "security", "username", "cafile", "sent_copy",
                                     "sent_copy_grace_seconds", "connections") if k in section}
    connections = extra.get("connections", 2)
    if isinstance(connections, bool) or not isinstance(connections, int) or not 1 <= connections <= 8:
        raise ConfigError(f"{path}: smtp.connections must be a whole number from 1 to 8")
    if not isinstance(extra.get("sent_copy", True), bool):
        raise ConfigError(f"{path}: smtp.sent_copy must be true or false")
    grace = extra.get("sent_copy_grace_seconds", 30.0)
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
        raise ConfigError(f"{path}: smtp.sent_copy_grace_seconds must be a number of seconds >= 0")
    _check_security(extra.get("security", "tls"), section["host"], path, "smtp.")
    return SmtpConfig(host=section["host"], password=_secret(section, path, "smtp."), **extra)


def _default_workers() -> int:
    """One core stays with the main process; at most four workers (the main thread is the limit)."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _secret(section: dict, path: Path, prefix: str) -> str:
    """Passwords are read from an environment variable or a file named in the config."""
    if "password_env" in section:
        name = section["password_env"]
        if name not in os.environ:
            raise ConfigError(f"{path}: {prefix}password_env names {name}, which is not set")
        return os.environ[name]
    if "password_file" in section:
        secret_path = Path(section["password_file"])
        try:
            return secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{path}: {prefix}password_file cannot be read: {exc}") from exc
    return ""


def _check_security(value: str, host: str, path: Path, prefix: str) -> None:
    if value not in ("tls", "starttls", "plain"):
        raise ConfigError(f"{path}: {prefix}security must be tls, starttls or plain, not {value!r}")
    if value == "plain" and not is_loopback(host):  # at load time, so `check` names it too
        raise ConfigError(f"{path}: {prefix}security = \"plain\" is allowed only for a loopback "
                          f"host, not {host!r}; use \"tls\" or \"starttls\"")


def _reject_unknown(section: dict, allowed: set[str], path: Path, prefix: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ConfigError(f"{path}: unknown key {prefix}{unknown[0]}")


def _require(section: dict, key: str, path: Path, prefix: str) -> None:
    if key not in section:
        raise ConfigError(f"{path}: missing key {prefix}{key}")


def _path(value: str | None, base: Path, default: Path) -> Path:
    if value is None:
        return default
    p = Path(value)
    return p if p.is_absolute() else base / p
