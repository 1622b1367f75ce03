"""Intake commands: `triage` and `parse` (dry runs on one file) and `register` (phone/on-site)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import inspect
from sqlmodel import Session

from bot.cases import seats_for
from bot.commands.case_text import DECISION_WORDS
from bot.commands.output import emit_json, say
from bot.config import Config
from bot.errors import ConfigError, FormUnreadable, InputError
from bot.followup.status import RULE_CN
from bot.forms.model import Form
from bot.forms.reader import read_attachment, read_body
from bot.intake.manual import register
from bot.intake.read import form_from_attachments
from bot.message.model import InboundMessage
from bot.message.parse import parse_message
from bot.rules.decide import complete_from_roster, decide
from bot.rules.model import Ruleset
from bot.service.runtime import (
    Options,
    clock_for,
    load,
    load_ruleset,
    open_runtime,
    open_sandbox,
)
from bot.store.db import make_engine
from bot.verdict import Verdict

log = logging.getLogger(__name__)


def triage_cmd(opts: Options, path: Path, as_json: bool) -> None:
    raw = mail_bytes(path)
    rules = load_ruleset(opts)
    cfg = load(opts)
    sandbox = open_sandbox(cfg, 1)  # read as `run` reads it: in a worker, under the same limits
    try:
        analysis = sandbox.submit(raw, rules, (cfg.message_id_domain,)).result()
    finally:
        sandbox.close()
    if analysis.msg is None:
        why = "超出处理限制" if analysis.overrun else "无法解析"
        raise InputError(f"{path} 无法作为邮件读取（{why}）")
    if analysis.intake_error is not None:
        raise analysis.intake_error
    intake, _source = analysis.intake
    code = intake.form.credit_code if intake.form else None
    verdict = decide(intake, rules, clock_for(opts, rules).today(), used_seats_reader(cfg, code, analysis.msg.from_addr))
    if as_json:
        emit_json(verdict.to_json())
    else:
        for line in verdict_lines(verdict):
            say(line)


def parse_cmd(opts: Options, path: Path) -> None:
    form = parse_file(opts, path)
    emit_json({**form.to_json(), "sources": form.sources_json()})  # where each value was read


def register_cmd(opts: Options, path: Path, channel: str) -> None:
    if channel not in ("phone", "onsite"):
        raise ConfigError(f"--channel 应为 phone（电话）或 onsite（现场），而不是“{channel}”")
    done = register(open_runtime(opts, with_transport=False), path, channel)
    how = "电话" if channel == "phone" else "现场"
    say(f"已登记{how}预约：" + (f"编号{done.case_number}，" if done.case_number else "未建立诉求编号，"))
    for line in verdict_lines(done.verdict):
        say(line)


def verdict_lines(verdict: Verdict) -> list[str]:
    """The decision and every reason, in Chinese (the rule ids stay in --json)."""
    rules = "、".join(RULE_CN.get(r, r) for r in verdict.rule_ids)
    lines = [f"处理结论：{DECISION_WORDS.get(verdict.decision, verdict.decision)}" + (f"（{rules}）" if rules else "")]
    lines += [f"　　{index}．{r.text}" for index, r in enumerate(verdict.reasons, 1)]
    lines += [f"　　提示：{f.text}" for f in verdict.flags]
    return lines


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"找不到文件 {path}") from None
    except OSError as exc:
        raise InputError(f"无法读取 {path}：{exc.strerror}") from None


def mail_bytes(path: Path) -> bytes:
    """The bytes of a mail file; refused when they are not a mail at all."""
    raw = read_file(path)
    if not raw.strip():
        raise InputError(f"{path} 是空文件，不是邮件")
    if not _looks_like_mail(raw):
        raise InputError(f"{path} 不是邮件（没有 From:、Subject: 等邮件头）")
    return raw


def parse_mail_file(path: Path) -> InboundMessage:
    return parse_message(mail_bytes(path))


def _looks_like_mail(raw: bytes) -> bool:
    head = raw[:8192].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    names = {line.split(b":", 1)[0].strip().lower() for line in head.splitlines()
             if b":" in line and not line[:1].isspace()}
    return bool(names & {b"from", b"to", b"subject", b"message-id", b"date", b"content-type",
                         b"received", b"return-path", b"mime-version"})


def used_seats_reader(cfg: Config, credit_code: str | None, sender: str = ""):
    """Capacity from the configured database when one exists, read-only (triage never writes)."""
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
            return seats_for(db, session_id, credit_code, sender)

    return used


def parse_file(opts: Options, path: Path) -> Form:
    rules = _rules_or_none(opts)
    districts = rules.programme.districts if rules else ()
    city = rules.programme.city if rules else ""
    if path.suffix.lower() == ".eml":
        msg = parse_mail_file(path)
        form = None
        if rules is not None:
            form, _att, _notes = form_from_attachments(msg, rules)
        form = form or read_body(msg.text_body or "", districts=districts, city=city)
        if form is None:
            raise InputError(f"{path}：附件和正文中都没有找到登记表")
    else:
        try:
            form = read_attachment(read_file(path), path.name, districts=districts, city=city)
        except FormUnreadable as exc:
            raise InputError(f"{path} 无法作为登记表读取（{exc.reason}）") from None
    if rules is not None:
        complete_from_roster(form, rules)
    return form


def _rules_or_none(opts: Options) -> Ruleset | None:
    try:
        return load_ruleset(opts)
    except Exception as exc:  # noqa: BLE001 - parse works without rules (missing or broken)
        log.warning("parsing without rules (%s)", exc)
        return None
