"""The whole decision, one code path for `triage`, `run` and `register`.

Precedence (spec/interfaces.md): ignored, rejected, needs_correction, referred, accepted/deferred;
`reasons` carries every reason of the winning decision, `flags` never change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from bot.forms.confidence import doubtful_keys, ocr_flags, ocr_reasons
from bot.forms.model import DECLARATION_KEYS, LABEL_OF_KEY, Form
from bot.forms.validate import validate
from bot.rules import texts
from bot.rules.fields import resolve_field
from bot.rules.matching import match_session
from bot.rules.model import Ruleset, Unit
from bot.verdict import Decision, Reason, Rule, Verdict, keyword_flag

IN_SCOPE_TYPES = ("规上企业", "上市后备企业", "高新技术企业")
MANDATORY = ("enterprise_name", "credit_code", "district", "contact_name", "contact_phone")


@dataclass
class Intake:
    """What the decision looks at: the form found (if any) and why others could not be read."""

    form: Form | None
    unreadable: list[str] = field(default_factory=list)  # Chinese notes, one per unreadable file
    sender: str = ""
    loop_reason: str | None = None


def decide(intake: Intake, rules: Ruleset, today: date,
           used: Callable[[str], int] = lambda _sid: 0) -> Verdict:
    if intake.loop_reason:
        return Verdict(Decision.IGNORED, [Reason(Rule.LOOP_AUTO, None, texts.loop(intake.loop_reason))])
    form = intake.form
    if form is None or form.is_blank():
        return _no_form(intake)
    complete_from_roster(form, rules)
    flags = keyword_flags(form, rules) + ocr_flags(form)
    rejected = exclusion_reasons(form, rules)
    if rejected:
        return Verdict(Decision.REJECTED, rejected, flags, form)
    field_rule = resolve_field(form, rules)
    problems = correction_reasons(form, rules, field_rule is not None)
    if problems:
        return Verdict(Decision.NEEDS_CORRECTION, problems, flags, form, field_rule and field_rule.id)
    referral = referral_unit(form, rules, field_rule.departments)
    if referral is not None:
        reason = Reason(Rule.SCOPE_REFER, None, texts.refer(referral))
        return Verdict(Decision.REFERRED, [reason], flags, form, field_rule.id, None, referral.id, False)
    match = match_session(field_rule.id, rules, today, used)
    session_id = match.session.id if match.session else None
    decision = Decision.ACCEPTED if match.rule == Rule.MATCH_CURRENT else Decision.DEFERRED
    reason = Reason(match.rule, None, texts.match(match.rule, match.session, field_rule, rules, today))
    return Verdict(decision, [reason], flags, form, field_rule.id, session_id, None, True)


def _no_form(intake: Intake) -> Verdict:
    if intake.unreadable:
        reasons = [Reason(Rule.FORM_UNREADABLE, None, note) for note in intake.unreadable]
    else:
        reasons = [Reason(Rule.FORM_MISSING, None, texts.FORM_MISSING)]
    return Verdict(Decision.NEEDS_CORRECTION, reasons, [], intake.form)


def complete_from_roster(form: Form, rules: Ruleset) -> None:
    """A known credit code with no name written takes the roster's name."""
    entry = rules.roster_entry(form.credit_code)
    if entry and not form.enterprise_name:
        form.enterprise_name = entry.name


def exclusion_reasons(form: Form, rules: Ruleset) -> list[Reason]:
    reasons = []
    if not form.enterprise_name and not form.credit_code:
        reasons.append(_exclusion_reason(Rule.EX_ANONYMOUS, None, rules))
    doubtful = set(doubtful_keys(form))  # a declaration OCR was unsure of is asked, never rejects
    for ex in rules.exclusions:
        if ex.declaration in DECLARATION_KEYS and getattr(form.declarations, ex.declaration) \
                and f"declarations.{ex.declaration}" not in doubtful:
            # field stays null as in the contract's example: the reason is the matter, not a form error
            reasons.append(_exclusion_reason(ex.id, None, rules))
    return reasons


def _exclusion_reason(rule_id: str, key: str | None, rules: Ruleset) -> Reason:
    return Reason(rule_id, key, texts.exclusion(rules.exclusion(rule_id), rule_id))


def correction_reasons(form: Form, rules: Ruleset, field_known: bool) -> list[Reason]:
    reasons = [Reason(Rule.FORM_INCOMPLETE, key, texts.incomplete(key))
               for key in MANDATORY if not getattr(form, key)]
    if not field_known:
        reasons.append(Reason(Rule.FORM_INCOMPLETE, "field", texts.field_unknown(form.field, rules)))
    reasons += [Reason(Rule.FORM_INCOMPLETE, f"declarations.{k}",
                       texts.incomplete(f"declarations.{k}"))
                for k in DECLARATION_KEYS if getattr(form.declarations, k) is None]
    invalid = validate(form, rules.programme.districts)
    reasons += invalid + ocr_reasons(form, {reason.field for reason in invalid})
    if len(form.attendees) > rules.programme.max_attendees:
        reasons.append(Reason(Rule.FORM_INVALID, "attendees",
                              texts.too_many_attendees(len(form.attendees),
                                                       rules.programme.max_attendees)))
    reasons += vague_reasons(form, rules)
    return reasons


def vague_reasons(form: Form, rules: Ruleset) -> list[Reason]:
    """Exclusion 5: no clear facts or requests (empty, or only a placeholder like 无/略/见附件)."""
    vague = rules.exclusion(Rule.EX_VAGUE)
    placeholders = set(vague.placeholders if vague else ()) | texts.DEFAULT_PLACEHOLDERS
    reasons = []
    for key in ("facts", "requests"):
        value = (getattr(form, key) or "").strip().strip("。.!！ ")
        if not value or value in placeholders:
            reasons.append(Reason(Rule.EX_VAGUE, key, texts.vague(key, LABEL_OF_KEY[key], vague)))
    return reasons


def keyword_flags(form: Form, rules: Ruleset) -> list[Reason]:
    """Words suggesting an undeclared exclusion: a person should look; the decision stays."""
    text = {k: getattr(form, k) or "" for k in ("title", "facts", "reasons", "requests")}
    flags = []
    for ex in rules.exclusions:
        if not ex.keywords or not ex.id.startswith("EX-"):
            continue
        for key, value in text.items():
            found = [w for w in ex.keywords if w and w in value]
            if found:
                flags.append(Reason(keyword_flag(ex.id), key, texts.keyword_flag(ex, found)))
                break
    return flags


def in_scope(form: Form, rules: Ruleset) -> bool:
    """On the roster when there is one; otherwise the declared enterprise types decide."""
    if rules.roster is not None:
        return rules.roster_entry(form.credit_code) is not None
    return any(t in IN_SCOPE_TYPES for t in form.enterprise_types)


def referral_unit(form: Form, rules: Ruleset, departments: tuple[str, ...]) -> Unit | None:
    """None when in scope; else the district government of the enterprise, or a department."""
    if in_scope(form, rules):
        return None
    for unit in rules.units_of_kind("district"):
        if unit.district and unit.district == form.district:
            return unit
    for unit_id in departments:
        if unit := rules.unit_by_id(unit_id):
            return unit
    offices = rules.units_of_kind("office")
    return offices[0] if offices else None
