"""config.toml, declared once: every key with its type, range, default and help, validated by pydantic.

The models below are the registry of settings: `load_config` validates a file against them (unknown
keys, wrong types and out-of-range values are `config.toml:line: 中文说明`), `settings()` lists them
for `init` (which writes a commented config.toml from them) and for the test that holds
config.example.toml to them. Adding a key is one field here, with its help.

With no config file the embedded default runs: a Maildir inbox under storage/mail/, outgoing mail
written to the Maildir storage/outbox/, SQLite at storage/bot.db, rules/ and templates/ beside it.
Relative paths are relative to the config file's folder. Secrets come from an environment variable
(`password_env`) or a file private to the service (`password_file`), never from the TOML.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from bot.errors import ConfigError
from bot.tls import is_loopback
from bot.tomlpos import RuleFile, read_toml
from bot.validation import (
    Flag,
    Int,
    Kind,
    PositiveInt,
    Seconds,
    Text,
    describe,
    explain,
    first_per_key,
    problem,
    type_name,
)

DATABASE_ENV = "RECEPTION_BOT_DATABASE_URL"


def _text_path(value: Any) -> Any:
    if not isinstance(value, (str, Path)):
        raise problem(f"应为路径（字符串），而不是{type_name(value)}")
    return value


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Relative to the config file's folder (the context's `base`), so the service and an admin's
    shell agree on where things are."""
    base = (info.context or {}).get("base")
    return value if value.is_absolute() or base is None else Path(base) / value


ConfigPath = Annotated[Path, BeforeValidator(_text_path), AfterValidator(_resolve), Kind("路径")]
Security = Literal["tls", "starttls", "plain"]


def _default_workers() -> int:
    """One core stays with the main process; at most four workers (the main thread is the limit)."""
    return max(0, min(4, usable_cpus() - 1))


def usable_cpus() -> int:
    """The CPUs this process may run on: fewer than the machine's under a container's cpuset,
    systemd's CPUAffinity= or taskset, where os.cpu_count() still counts them all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class Section(BaseModel):
    # validate_default: a default path is resolved against the config's folder like a written one
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              validate_default=True)


class MailServer(Section):
    """What IMAP and SMTP share: where, how securely, and as whom."""

    host: Annotated[Text, Field(description="服务器主机名 / server host name",
                                examples=["imap.example.gov.cn"])]
    port: Annotated[Int, Field(ge=1, le=65535, description="端口 / port")]
    security: Annotated[Security, Field(
        description="tls：隐式 TLS；starttls：明文端口升级为 TLS；plain：不加密，仅限本机回环地址 / "
                    "tls, starttls, or plain (loopback only)")] = "tls"
    username: Annotated[Text, Field(description="登录用户名 / login name",
                                    examples=["qyjd@example.gov.cn"])] = ""
    password_env: Annotated[Text | None, Kind("环境变量名"), Field(
        description="存放密码的环境变量名（密码不写进本文件）/ environment variable holding the password",
        examples=["RECEPTION_BOT_IMAP_PASSWORD"])] = None
    password_file: Annotated[ConfigPath | None, Kind("路径"), Field(
        description="存放密码的文件，只允许服务用户读取（chmod 600）/ file holding the password, "
                    "private to the service user", examples=["/etc/reception-bot/imap-password"])] = None
    cafile: Annotated[ConfigPath | None, Kind("路径"), Field(
        description="自建 CA 的证书文件；默认使用系统信任的证书 / a private CA; default: the system store",
        examples=["/etc/reception-bot/ca.pem"])] = None
    _password: str = PrivateAttr("")

    @property
    def password(self) -> str:
        """Read from password_env or password_file when the config was loaded; never printed."""
        return self._password

    @field_validator("security")
    @classmethod
    def _plain_only_on_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if value == "plain" and host and not is_loopback(host):  # at load time, so `check` names it
            raise problem(f"设为 \"plain\"（不加密）只允许本机回环地址，{host} 不是；请改用 \"tls\" 或 \"starttls\"")
        return value

    @field_validator("password_env")
    @classmethod
    def _variable_is_set(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value not in _environ(info):
            raise problem(f"指定的环境变量 {value} 未设置")
        return value

    @field_validator("password_file")
    @classmethod
    def _file_is_private(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        try:
            mode = value.stat().st_mode
        except OSError as exc:
            raise problem(f"所指文件 {value} 无法读取：{exc.strerror}") from None
        if mode & stat.S_IRWXO:
            raise problem(f"所指文件 {value} 可被其他用户访问（权限 {stat.filemode(mode)}），"
                          f"请执行 chmod 600 {value}")
        return value

    @model_validator(mode="after")
    def _read_secret(self, info: ValidationInfo) -> "MailServer":
        if self.password_env is not None and self.password_file is not None:
            raise problem("中 password_env 与 password_file 只能设置其中一个")
        if self.password_env is not None:
            self._password = _environ(info)[self.password_env]
        elif self.password_file is not None:
            try:
                self._password = self.password_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise problem(f"中 password_file 无法读取：{exc}") from None
        return self


class ImapConfig(MailServer):
    """[imap]: the mailbox the bot reads. Without this section it reads the Maildir storage/mail/."""

    port: Annotated[Int, Field(ge=1, le=65535, description="端口：993（tls）或 143（starttls）/ port")] = 993
    inbox: Annotated[Text, Field(description="收件的文件夹 / folder of new mail")] = "INBOX"
    processed_folder: Annotated[Text, Field(
        description="处理完成的邮件移入此文件夹（在数据库提交之后）/ processed mail is moved here")] = "Processed"
    quarantine_folder: Annotated[Text, Field(
        description="反复处理失败的邮件移入此文件夹 / mail that keeps failing is moved here")] = "Quarantine"
    sent_folder: Annotated[Text, Field(
        description="本机器人每封发出邮件的副本归入此文件夹 / our copy of every mail sent is filed here")] = "Sent"


class SmtpConfig(MailServer):
    """[smtp]: the server the bot sends through. Without it, mail is written to storage/outbox/."""

    host: Annotated[Text, Field(description="服务器主机名 / server host name",
                                examples=["smtp.example.gov.cn"])]
    port: Annotated[Int, Field(ge=1, le=65535, description="端口：465（tls）或 587（starttls）/ port")] = 465
    password_env: Annotated[Text | None, Kind("环境变量名"), Field(
        description="存放密码的环境变量名（密码不写进本文件）/ environment variable holding the password",
        examples=["RECEPTION_BOT_SMTP_PASSWORD"])] = None
    password_file: Annotated[ConfigPath | None, Kind("路径"), Field(
        description="存放密码的文件，只允许服务用户读取（chmod 600）/ file holding the password, "
                    "private to the service user", examples=["/etc/reception-bot/smtp-password"])] = None
    sent_copy: Annotated[Flag, Field(
        description="每封邮件同时抄送本机器人邮箱，用副本证明已投递 / a copy to our own mailbox proves "
                    "delivery after a crash at the final dot")] = True
    sent_copy_grace_seconds: Annotated[Seconds, Field(
        description="发出后这么多秒内副本未到，视为服务器未收到并重发一次 / seconds to wait for the "
                    "copy before sending again")] = 30.0
    # 4: measured on the benchmark's backlog (bench/README.md): with three the intake still waited
    # for the senders on PostgreSQL (0.88-0.95x the replying limit, 0.92-1.01x with four to six);
    # two were slower still.
    connections: Annotated[Int, Field(ge=1, le=8, description="积压时同时使用的 SMTP 连接数；服务器拒绝多余的连接时，"
                                                            "用它允许的连接继续发送 / SMTP connections used "
                                                            "at once in a backlog; fewer if the server refuses "
                                                            "the extra ones")] = 4


class TrustConfig(Section):
    """[trust]: whose word the bot takes (README, Security)."""

    authserv_id: Annotated[Text, Field(
        description="本单位收信服务器在 Authentication-Results 中写的名称；只认它最上面的一条验证结论。"
                    "留空则所有来信均视为未经验证，管理员台账和承办单位报送都要回复确认码 / the name our "
                    "own receiving server writes in Authentication-Results; empty: nothing is "
                    "authenticated", examples=["mx.example.gov.cn"])] = ""
    methods: Annotated[tuple[Literal["dmarc", "dkim", "spf"], ...], Kind("验证方式列表"), Field(
        description="哪些验证通过即视为发件人可信：dmarc（对齐）、dkim（发件域名）、spf（对齐的信封发件人）/ "
                    "which passes authenticate a sender")] = ("dmarc", "dkim", "spf")
    hold_hours: Annotated[PositiveInt, Field(
        le=720, description="暂缓办理的来信，其确认码的有效小时数 / hours a confirmation code stays "
                            "valid")] = 72


class Config(Section):
    """The whole config.toml. Paths are resolved against the file's folder when loaded."""

    storage_dir: Annotated[ConfigPath, Field(
        description="运行数据目录：数据库、原始邮件归档、生成的文件 / runtime data: database, archived "
                    "mail, documents")] = Path("storage")
    rules_dir: Annotated[ConfigPath, Field(
        description="管理员编辑的规则文件目录 / the admin's rule files")] = Path("rules")
    templates_dir: Annotated[ConfigPath, Field(
        description="邮件和文书模板目录；放入同名文件即覆盖内置模板，缺少的使用内置模板 / a file here "
                    "overrides the shipped template of the same name")] = Path("templates")
    database_url: Annotated[Text, Field(
        description="数据库地址；SQLite 或 postgresql://…；环境变量 RECEPTION_BOT_DATABASE_URL 优先 / "
                    "database URL; the environment variable wins",
        examples=["sqlite:///storage/bot.db"],
        json_schema_extra={"shown_default": "sqlite:///<storage_dir>/bot.db"})] = ""
    maildir: Annotated[ConfigPath, Field(
        description="未配置 [imap] 时读取的本地 Maildir 收件箱 / the Maildir inbox used without [imap]",
        json_schema_extra={"shown_default": "<storage_dir>/mail"})] = Path("storage/mail")
    outbox_maildir: Annotated[ConfigPath, Field(
        description="未配置 [smtp] 时发出邮件写入的本地 Maildir / the Maildir outgoing mail goes to "
                    "without [smtp]", json_schema_extra={"shown_default": "<storage_dir>/outbox"})
    ] = Path("storage/outbox")
    message_id_domain: Annotated[Text, Field(
        description="本机器人生成的 Message-ID 的域名；带此域名的来信视为自己的邮件（防循环）/ "
                    "domain of our Message-IDs (loop protection)", examples=["qyjd.wuhai.gov.cn"])
    ] = "reception-bot.local"
    from_name: Annotated[Text, Field(
        description="发件人显示名称（地址为 programme.toml 的 mailbox）/ display name on outgoing mail",
        examples=["乌海市人民政府办公室（市营商办）"])] = "市长服务民营企业接待日"
    poll_seconds: Annotated[Seconds, Field(
        description="服务器不支持 IMAP IDLE 时的轮询间隔（秒）/ seconds between polls without IDLE")] = 30.0
    max_attempts: Annotated[PositiveInt, Field(
        description="一封邮件反复出错，尝试这么多次后移入隔离区 / tries before a failing mail is "
                    "quarantined")] = 5
    parse_workers: Annotated[Int, Field(
        default_factory=_default_workers, ge=0, le=64,
        description="解析邮件和读表的工作进程数（至少一个；0 按一个计）/ worker processes that read "
                    "mail (at least one; 0 counts as one)",
        json_schema_extra={"shown_default": "本进程可用的 CPU 核数减 1，最多 4"})]
    rate_limit_per_recipient: Annotated[PositiveInt, Field(
        description="滚动时间窗内对同一收件人最多发出的自动邮件数 / automatic mails per recipient "
                    "per window")] = 20
    rate_window_hours: Annotated[PositiveInt, Field(
        description="上述限额的时间窗（小时）/ the window, in hours")] = 24
    bounce_suppress_days: Annotated[PositiveInt, Field(
        description="永久退信的地址在这么多天内不再发自动邮件 / days a hard-bounced address gets no "
                    "automatic mail")] = 7
    mail_seconds: Annotated[Seconds, Field(
        gt=0, description="每封邮件解析和读表（含图片识别）的最长时间（秒），超时的工作进程被终止 / "
                          "wall time one mail may take to be read, OCR included")] = 60.0
    mail_memory_mb: Annotated[PositiveInt, Field(
        description="读一封邮件时工作进程（含其子进程）最多占用的内存（MB）/ resident memory of a "
                    "worker and its children for one mail")] = 1024
    batch_bytes: Annotated[PositiveInt, Field(
        description="一批取回的原始邮件总字节数上限（至少一封）/ raw bytes fetched in one batch "
                    "(at least one mail)")] = 64 * 2**20
    fetch_batch: Annotated[PositiveInt, Field(
        le=1000, description="一次从邮箱取回的邮件封数上限 / mails fetched from the mailbox in one "
                             "round")] = 100
    commit_batch: Annotated[PositiveInt, Field(
        le=200, description="在一个数据库事务中登记和处理的邮件封数；1 为逐封提交 / mails claimed "
                            "and recorded in one database transaction; 1 commits each mail alone")] = 20
    trust: Annotated[TrustConfig, Kind("[trust] 段"), Field(
        default_factory=TrustConfig,
        description="[trust] 来信身份验证 / sender authentication")]
    imap: Annotated[ImapConfig | None, Kind("[imap] 段"), Field(
        description="[imap] 收信服务器。整段保持注释则读取本地 Maildir（maildir）/ the IMAP server; "
                    "without it the Maildir")] = None
    smtp: Annotated[SmtpConfig | None, Kind("[smtp] 段"), Field(
        description="[smtp] 发信服务器。整段保持注释则把发出的邮件写入本地 Maildir（outbox_maildir）/ "
                    "the SMTP server; without it the outbox Maildir")] = None
    _source_path: Path | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        """Paths and the database under storage_dir unless given; the environment's database wins."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        storage = data.get("storage_dir", "storage")
        if isinstance(storage, (str, Path)):
            data.setdefault("maildir", str(Path(storage) / "mail"))
            data.setdefault("outbox_maildir", str(Path(storage) / "outbox"))
            data.setdefault("database_url", f"sqlite:///{Path(storage) / 'bot.db'}")
        env_url = _environ(info).get(DATABASE_ENV)
        if env_url:
            data["database_url"] = env_url
        return data

    @field_validator("database_url")
    @classmethod
    def _sqlite_beside_the_config(cls, value: str, info: ValidationInfo) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")):
            raise problem("应为 sqlite:///路径 或 postgresql://用户@主机/库名")
        prefix = "sqlite:///"
        base = (info.context or {}).get("base")
        rest = value[len(prefix):]
        if value.startswith(prefix) and rest and not rest.startswith(":") and base is not None \
                and not Path(rest).is_absolute():
            return f"{prefix}{Path(base) / rest}"
        return value

    @property
    def source_path(self) -> Path | None:
        """The file this was loaded from; None for the embedded default."""
        return self._source_path

    @property
    def own_domains(self) -> tuple[str, ...]:
        """The domains whose mail is our own (loop protection, bot.message.loop)."""
        return (self.message_id_domain,)

    @property
    def archive_dir(self) -> Path:
        return self.storage_dir / "archive"

    @property
    def documents_dir(self) -> Path:
        return self.storage_dir / "documents"


def _environ(info: ValidationInfo) -> Mapping[str, str]:
    return (info.context or {}).get("environ", os.environ)


# ---------------------------------------------------------------- loading


def embedded_default(base_dir: Path) -> Config:
    """The zero-configuration set-up a newcomer gets: everything under ./storage."""
    return Config.model_validate({}, context={"base": Path(base_dir).resolve(), "environ": os.environ})


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
        raise ConfigError(f"找不到配置文件：{path}")
    parsed, failure = read_toml(path)
    if parsed is None:
        raise ConfigError(f"{path}:{failure[0]}: {failure[1]}", [f"{path}:{failure[0]}: {failure[1]}"])
    try:
        cfg = Config.model_validate(parsed.data, context={"base": path.parent.resolve(),
                                                          "environ": os.environ})
    except ValidationError as exc:
        problems = [f"{path}:{line}: {text}" for line, text in config_problems(exc, parsed)]
        raise ConfigError("\n".join(problems), problems) from None
    cfg._source_path = path  # noqa: SLF001 - set once, by the loader, in this module
    return cfg


def config_problems(exc: ValidationError, parsed: RuleFile) -> list[tuple[int, str]]:
    """(line, Chinese message) for each error, in file order; a key of a section is named
    with it ("smtp.connections")."""
    found = []
    for error in first_per_key(exc.errors()):
        loc = [part for part in error["loc"] if isinstance(part, str)]
        section = loc[0] if len(loc) > 1 and loc[0] in SECTIONS else None
        key = loc[-1] if loc else None
        model = SECTIONS[section or ""]
        text = explain(error, model.model_fields, prefix=f"{section}." if section else "")
        found.append((parsed.line(section, 0, key), text))
    return sorted(found, key=lambda item: item[0])


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Setting:
    """One key of config.toml, as `init`, `check` and the documentation test see it."""

    key: str  # dotted: "smtp.connections"
    kind: str  # in words: "1 到 8 之间的整数"
    default: Any  # None: no default (a required key, or an optional one left out)
    shown_default: str  # the default in words where it depends on other keys or the machine
    help: str
    example: Any  # the value config.example.toml shows (a site's own value), else the default
    required: bool


def _sections() -> dict[str, type[Section]]:
    """"" for the top level, then each [table] of Config, found from its fields: a new section is a
    Section subclass and one field of Config, nothing else."""
    found: dict[str, type[Section]] = {"": Config}
    for name, info in Config.model_fields.items():
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, Section):
                found[name] = candidate
    return found


SECTIONS = _sections()


def settings() -> list[Setting]:
    """Every key of config.toml, top-level keys first, then [imap] and [smtp]."""
    found = []
    for prefix, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            if name in SECTIONS:
                continue
            found.append(_setting(f"{prefix}.{name}" if prefix else name, info))
    return found


def _setting(key: str, info: FieldInfo) -> Setting:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = None if info.is_required() or info.default_factory else info.default
    if isinstance(default, Path):
        default = str(default)
    if isinstance(default, tuple):  # as TOML writes it: an array
        default = list(default)
    example = info.examples[0] if info.examples else default
    return Setting(key=key, kind=describe(info), default=default,
                   shown_default=str(extra.get("shown_default", "" if default is None else default)),
                   help=info.description or "", example=example, required=info.is_required())


# ---------------------------------------------------------------- a config to start from

STARTER_HEAD = """\
# reception-bot 配置文件，由 `reception-bot init` 依据内置的配置项说明生成。
# 所有键都已注释：此时使用内置默认配置（本目录下 storage/ 中的 Maildir 收件箱和 SQLite 数据库，
# rules/ 中的规则）。要修改某项，去掉行首的 # 再改值；改完运行 `reception-bot check` 检查。
# 路径相对于本文件所在的目录。密码不写进本文件：用 password_env（环境变量）或 password_file。
"""


def starter_config() -> str:
    """config.toml with every setting commented out, its help above it: `init` writes this."""
    lines = [STARTER_HEAD]
    section = ""
    for setting in settings():
        prefix = setting.key.rpartition(".")[0]
        if prefix != section:
            section = prefix
            lines += ["", f"# {Config.model_fields[prefix].description}", f"# [{prefix}]"]
        name = setting.key.rpartition(".")[2]
        default = f"（默认：{setting.shown_default}）" if setting.shown_default else ""
        lines.append(f"\n# {setting.help}{default}" if not section else f"# {setting.help}{default}")
        value = setting.example if setting.example is not None else _machine_default(setting)
        lines.append(f"# {name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _machine_default(setting: Setting):
    return _default_workers() if setting.key == "parse_workers" else ""


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
