"""Wiring for the commands: build the runtime from options, and the intake commands' bodies."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import inspect
from sqlmodel import Session

from bot.config import Config, load_config
from bot.errors import ConfigError, InputError
from bot.forms.model import Form
from bot.outbox.compose import Templates
from bot.rules.loader import load_rules
from bot.rules.model import Ruleset
from bot.context import Clock, RulesHolder, Runtime
from bot.store.db import make_engine, open_database, private_umask

log = logging.getLogger(__name__)


def load(opts) -> Config:
    return load_config(opts.config)


def rules_dir(opts) -> Path:
    return Path(opts.rules) if opts.rules else load(opts).rules_dir


def load_ruleset(opts) -> Ruleset:
    path = rules_dir(opts)
    if not path.is_dir():
        raise ConfigError(f"rules directory not found: {path}")
    return load_rules(path)


def clock_for(opts, rules: Ruleset) -> Clock:
    return Clock(ZoneInfo(rules.programme.timezone or "Asia/Shanghai"), opts.today)


def open_runtime(opts, with_transport: bool = True) -> Runtime:
    """Everything a command that changes state needs; migrations run here."""
    private_umask()
    cfg = load(opts)
    holder = RulesHolder.load(rules_dir(opts))
    engine = open_database(cfg.database_url)
    rt = Runtime(config=cfg, rules=holder, engine=engine, templates=Templates(cfg.templates_dir),
                 clock=clock_for(opts, holder.current))
    if with_transport:
        rt.transport = open_transport(cfg)
    return rt


def open_transport(cfg: Config):
    from bot.outbox.transport import MaildirTransport, SmtpSettings, SmtpTransport

    if cfg.smtp is None:
        return MaildirTransport(cfg.outbox_maildir)
    s = cfg.smtp
    return SmtpTransport(SmtpSettings(host=s.host, port=s.port, security=s.security,
                                      username=s.username, password=s.password, cafile=s.cafile,
                                      sent_copy=s.sent_copy,
                                      confirm_grace=float(s.sent_copy_grace_seconds)))


def open_source(rt: Runtime):
    from bot.mailbox.imap import ImapSettings, ImapSource
    from bot.mailbox.maildir import MaildirSource

    cfg = rt.config
    if cfg.imap is None:
        return MaildirSource(cfg.maildir)
    i = cfg.imap
    return ImapSource(ImapSettings(host=i.host, port=i.port, username=i.username,
                                   password=i.password, security=i.security, cafile=i.cafile,
                                   inbox=i.inbox, processed_folder=i.processed_folder,
                                   quarantine_folder=i.quarantine_folder,
                                   sent_folder=i.sent_folder))


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def parse_mail_file(path: Path):
    from bot.message.parse import parse_message

    raw = read_file(path)
    if not raw.strip():
        raise InputError(f"{path} is empty, not a mail message")
    if not _looks_like_mail(raw):
        raise InputError(f"{path} is not a mail message (no header lines such as From: or Subject:)")
    return parse_message(raw)


def _looks_like_mail(raw: bytes) -> bool:
    head = raw[:8192].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    names = {line.split(b":", 1)[0].strip().lower() for line in head.splitlines()
             if b":" in line and not line[:1].isspace()}
    return bool(names & {b"from", b"to", b"subject", b"message-id", b"date", b"content-type",
                         b"received", b"return-path", b"mime-version"})


def used_seats_reader(cfg: Config, credit_code: str | None):
    """Capacity from the configured database when one exists, read-only (triage never writes)."""
    from bot.intake.pipeline import _seats

    url = cfg.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return lambda _sid: 0
    try:
        engine = make_engine(url)
        if not inspect(engine).has_table("case_record"):
            return lambda _sid: 0
    except Exception as exc:  # noqa: BLE001 - triage works without a database
        log.warning("triage without capacity data: %s", exc)
        return lambda _sid: 0

    def used(session_id: str) -> int:
        with Session(engine) as db:
            return _seats(db, session_id, credit_code)

    return used


def triage_file(opts, path: Path):
    from bot.rules.decide import decide
    from bot.intake.read import read_intake

    msg = parse_mail_file(path)
    rules = load_ruleset(opts)
    cfg = load(opts)
    intake, _source = read_intake(msg, rules, (cfg.message_id_domain,))
    code = intake.form.credit_code if intake.form else None
    return decide(intake, rules, clock_for(opts, rules).today(), used_seats_reader(cfg, code))


def parse_file(opts, path: Path) -> Form:
    from bot.errors import FormUnreadable
    from bot.forms.reader import read_attachment, read_body
    from bot.intake.read import _form_from_attachments

    rules = _rules_or_none(opts)
    districts = rules.programme.districts if rules else ()
    city = rules.programme.city if rules else ""
    if path.suffix.lower() == ".eml":
        msg = parse_mail_file(path)
        form = None
        if rules is not None:
            form, _att, _notes = _form_from_attachments(msg, rules)
        form = form or read_body(msg.text_body or "", districts=districts, city=city)
        if form is None:
            raise InputError(f"{path}: no registration form found in the attachments or the body")
    else:
        try:
            form = read_attachment(read_file(path), path.name, districts=districts, city=city)
        except FormUnreadable as exc:
            raise InputError(f"{path}: cannot be read as a form ({exc.reason})") from None
    if rules is not None:
        from bot.rules.decide import complete_from_roster

        complete_from_roster(form, rules)
    return form


def _rules_or_none(opts) -> Ruleset | None:
    try:
        return load_ruleset(opts)
    except Exception as exc:  # noqa: BLE001 - parse works without rules (missing or broken)
        log.warning("parsing without rules (%s)", exc)
        return None


def write_forms(opts, outdir: Path) -> list[Path]:
    from bot.documents.slip import blank_slip
    from bot.forms.blank import write_blank_docx, write_blank_xlsx

    rules = load_ruleset(opts)
    outdir.mkdir(parents=True, exist_ok=True)
    kwargs = dict(districts=list(rules.programme.districts),
                  field_names=[f.name for f in rules.fields],
                  max_attendees=rules.programme.max_attendees)
    paths = [outdir / "来访企业预约登记表.xlsx", outdir / "来访企业预约登记表.docx",
             outdir / "企业诉求交办单.docx"]
    write_blank_xlsx(paths[0], **kwargs)
    write_blank_docx(paths[1], **kwargs)
    blank_slip(paths[2])
    return paths


def register_file(opts, path: Path, channel: str) -> str:
    from bot.intake.manual import register

    return register(open_runtime(opts, with_transport=False), path, channel)


def reprocess_quarantine(opts) -> int:
    from sqlmodel import select

    from bot.store.models import InboundMail

    rt = open_runtime(opts, with_transport=False)
    source = open_source(rt)
    source.open()
    try:
        folder = rt.config.imap.quarantine_folder if rt.config.imap else "Quarantine"
        moved = source.restore(folder)
    finally:
        source.close()
    with Session(rt.engine) as db:
        for row in db.exec(select(InboundMail).where(InboundMail.status == "quarantined")):
            # A row keyed by the raw digest (the mail could not be parsed) will not be found
            # again once the mail parses: it is closed, and the mail gets a row of its own.
            unkeyed = row.message_id.endswith("@archive.invalid")
            row.status, row.attempts = ("reprocessed", row.attempts) if unkeyed else ("received", 0)
            db.add(row)
        db.commit()
    return moved


def render_notice_cmd(opts, session_id: str, out: Path) -> list[str]:
    from bot.calendar import WorkCalendar
    from bot.documents.notice import render_notice

    rules = load_ruleset(opts)
    session = rules.session_by_id(session_id)
    if session is None:
        known = ", ".join(s.id for s in rules.sessions)
        raise InputError(f"no session {session_id!r} in sessions.toml (known: {known})")
    out.parent.mkdir(parents=True, exist_ok=True)
    render_notice(rules, session_id, out)
    messages = [f"wrote {out}"]
    cal = WorkCalendar.from_rules(rules.holidays, rules.workdays)
    lead = rules.deadlines.notice_lead_working_days
    latest = cal.working_days_before(session.date, lead)
    published = session.notice_date or clock_for(opts, rules).today()
    if published > latest:
        messages.append(f"warning: the notice date {published} is later than {lead} working days "
                        f"before the session on {session.date} (publish by {latest})")
    return messages
