"""A decision with its reasons: what `triage --json` prints and what the reply cites."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.forms.model import Form

DECISIONS = ("accepted", "deferred", "needs_correction", "referred", "rejected", "ignored")


@dataclass(frozen=True)
class Reason:
    rule: str  # a rule id of spec/interfaces.md, e.g. EX-JUDICIAL, FORM-INVALID, KW-PETITION
    field: str | None  # JSON key path of the form field concerned, or None
    text: str  # Chinese explanation for people

    def to_json(self) -> dict:
        return {"rule": self.rule, "field": self.field, "text": self.text}


@dataclass
class Verdict:
    decision: str
    reasons: list[Reason] = field(default_factory=list)
    flags: list[Reason] = field(default_factory=list)
    form: Form | None = None
    field: str | None = None  # matched field id
    session: str | None = None  # session id
    refer_to: str | None = None  # unit id for SCOPE-REFER
    in_scope: bool | None = None

    @property
    def rule_ids(self) -> list[str]:
        """Distinct rule ids in order (one reply may carry several reasons of one rule)."""
        return list(dict.fromkeys(r.rule for r in self.reasons))

    def to_json(self) -> dict:
        return {
            "decision": self.decision,
            "reasons": [r.to_json() for r in self.reasons],
            "flags": [r.to_json() for r in self.flags],
            "form": self.form.to_json() if self.form else None,
            "field": self.field,
            "session": self.session,
        }
