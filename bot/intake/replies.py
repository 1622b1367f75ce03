"""Verdict -> the mails it causes: the threaded reply to the enterprise and, on referral, the forward."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.documents.cn import cn_date
from bot.documents.referral import referral_docx
from bot.forms.blank import write_blank_docx, write_blank_xlsx
from bot.forms.confidence import confirm_lines
from bot.forms.model import LABEL_OF_KEY
from bot.message.model import Attachment
from bot.outbox.compose import Draft, OutgoingAttachment, Templates
from bot.rules import texts
from bot.rules.model import Ruleset
from bot.verdict import Decision, Rule, Verdict

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class ReplyContext:
    """Threading and identity of the mail being answered."""

    sender: str
    message_id: str
    references: list[str] = field(default_factory=list)
    case_number: str = ""
    updated: bool = False
    form_attachment: Attachment | None = None


def blank_form_attachments(rules: Ruleset, cache_dir: Path) -> list[OutgoingAttachment]:
    """The blank registration form in both formats, generated once per rules state."""
    kwargs = dict(districts=list(rules.programme.districts),
                  field_names=[f.name for f in rules.fields],
                  max_attendees=rules.programme.max_attendees, mailbox=rules.programme.mailbox,
                  office=rules.programme.office)
    # The dropdowns come from the rules: a changed field list makes a new pair of forms.
    key = hashlib.sha256(repr(sorted(kwargs.items())).encode()).hexdigest()[:12]
    cache_dir = cache_dir / key
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    xlsx, docx = cache_dir / "来访企业预约登记表.xlsx", cache_dir / "来访企业预约登记表.docx"
    if not xlsx.exists():
        write_blank_xlsx(xlsx, **kwargs)
    if not docx.exists():
        write_blank_docx(docx, **kwargs)
    return [OutgoingAttachment(xlsx.name, xlsx.read_bytes(), XLSX),
            OutgoingAttachment(docx.name, docx.read_bytes(), DOCX)]


def drafts_for(verdict: Verdict, ctx: ReplyContext, rules: Ruleset, templates: Templates,
               blank_dir: Path) -> list[Draft]:
    if verdict.decision == Decision.IGNORED:
        return []
    values = _template_values(verdict, ctx, rules)
    subject, body = templates.render(f"reply_{verdict.decision}", **values)
    body = texts.cite_plan(body, rules.programme.plan_title)
    reply = Draft(purpose=f"reply-{verdict.decision}", to=[ctx.sender], subject=subject,
                  body=body, case_number=ctx.case_number, in_reply_to=ctx.message_id,
                  references=list(ctx.references))
    if values["blank_forms"]:
        reply.attachments = blank_form_attachments(rules, blank_dir)
    drafts = [reply]
    if verdict.decision == Decision.REFERRED and values["refer_unit"] is not None:
        drafts.append(_referral(values, ctx, templates))
    return drafts


def _template_values(verdict: Verdict, ctx: ReplyContext, rules: Ruleset) -> dict:
    session = rules.session_by_id(verdict.session) if verdict.session else None
    field_rule = rules.field_by_id(verdict.field) if verdict.field else None
    blank = any(r.rule in (Rule.FORM_MISSING, Rule.FORM_UNREADABLE) for r in verdict.reasons)
    return dict(
        programme=rules.programme, form=verdict.form, reasons=verdict.reasons,
        flags=verdict.flags, ocr_checks=confirm_lines(verdict.form),
        case_number=ctx.case_number, updated=ctx.updated,
        session=session, session_words=texts.session_words(session) if session else "",
        leader_title=texts.leader_words(rules, session), field_name=field_rule.name if field_rule else "",
        refer_unit=rules.unit_by_id(verdict.refer_to) if verdict.refer_to else None,
        blank_forms=blank,
    )


def _referral(values: dict, ctx: ReplyContext, templates: Templates) -> Draft:
    """The referral to a unit: a summary and a document rebuilt from the values read, never the
    sender's own file (bot.documents.referral says why)."""
    subject, body = templates.render("referral_forward", **values)
    body = texts.cite_plan(body, values["programme"].plan_title)
    unit = values["refer_unit"]
    draft = Draft(purpose="referral", to=list(unit.emails), subject=subject, body=body,
                  case_number=ctx.case_number, auto_submitted="auto-generated")
    form, office = values["form"], values["programme"].office
    intro = (f"编号：{ctx.case_number}。以下内容由{office}根据企业通过预约登记邮箱报送的登记表整理，"
             "原件存档备查。")
    data = referral_docx("企业诉求转办表", intro, form_rows(form), office)
    name = f"企业诉求转办表-{ctx.case_number}.docx" if ctx.case_number else "企业诉求转办表.docx"
    draft.attachments = [OutgoingAttachment(name, data, DOCX)]
    return draft


def form_rows(form) -> list[tuple[str, str]]:
    """(printed label, value as read) for every field of the registration form."""
    data = form.to_json()
    rows = []
    for key, label in LABEL_OF_KEY.items():
        value = data.get(key) if not key.startswith("declarations.") else \
            data["declarations"].get(key.split(".", 1)[1])
        if key == "signed_date":
            value = _cn_day(value)
        rows.append((label, _shown(value)))
    return rows


def _cn_day(value):
    """A date read from the form, as people write it (2026年11月30日); anything else as read."""
    try:
        return cn_date(date.fromisoformat(value)) if value else value
    except ValueError:
        return value


def _shown(value) -> str:
    if value is None:
        return "（未填写）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（未填写）"
    return str(value)
