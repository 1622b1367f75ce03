"""A decision with its reasons: what `triage --json` prints and what the reply cites.

The rule ids and decisions of spec/interfaces.md live here, below forms, rules and intake, so
that each of them names a rule by constant and none has to import another to do so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the verdict carries the form it was made from
    from bot.forms.model import Form


class Decision(StrEnum):
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    NEEDS_CORRECTION = "needs_correction"
    REFERRED = "referred"
    REJECTED = "rejected"
    IGNORED = "ignored"


DECISIONS = tuple(Decision)


class Rule(StrEnum):
    """Rule ids: in `reasons` and `flags`, in reply mails and in the ledger."""

    LOOP_AUTO = "LOOP-AUTO"  # auto-reply, bounce, list mail, our own mail, loop
    RATE_LIMIT = "RATE-LIMIT"  # the sender wrote more often than the per-sender cap allows
    MAIL_EMPTY = "MAIL-EMPTY"  # a message of zero bytes: nobody to answer
    FORM_MISSING = "FORM-MISSING"
    FORM_UNREADABLE = "FORM-UNREADABLE"
    FORM_INCOMPLETE = "FORM-INCOMPLETE"
    FORM_INVALID = "FORM-INVALID"
    EX_VAGUE = "EX-VAGUE"
    EX_ANONYMOUS = "EX-ANONYMOUS"
    EX_JUDICIAL = "EX-JUDICIAL"
    EX_DISCIPLINE = "EX-DISCIPLINE"
    EX_PETITION = "EX-PETITION"
    EX_PROPOSAL = "EX-PROPOSAL"
    SCOPE_REFER = "SCOPE-REFER"
    MATCH_CURRENT = "MATCH-CURRENT"
    MATCH_LATER = "MATCH-LATER"
    WINDOW_CLOSED = "WINDOW-CLOSED"
    SESSION_FULL = "SESSION-FULL"
    NO_SESSION = "NO-SESSION"
    KW_JUDICIAL = "KW-JUDICIAL"
    KW_DISCIPLINE = "KW-DISCIPLINE"
    KW_PETITION = "KW-PETITION"
    KW_PROPOSAL = "KW-PROPOSAL"
    OCR_CHECK = "OCR-CHECK"  # flag: a value read from an image that a person should compare
    DUPLICATE_CODE = "DUPLICATE-CODE"  # flag: the credit code is on another address's case


EXCLUSION_RULES = (Rule.EX_JUDICIAL, Rule.EX_DISCIPLINE, Rule.EX_PETITION, Rule.EX_PROPOSAL,
                   Rule.EX_VAGUE, Rule.EX_ANONYMOUS)
UNDECLARABLE = (Rule.EX_VAGUE, Rule.EX_ANONYMOUS)  # read from the form itself, not a declaration


def keyword_flag(exclusion_id: str) -> str:
    """The KW-* flag raised by words that suggest an undeclared exclusion EX-*."""
    return "KW-" + exclusion_id.removeprefix("EX-")


@dataclass(frozen=True)
class Reason:
    rule: str  # a Rule, e.g. EX-JUDICIAL, FORM-INVALID, KW-PETITION
    field: str | None  # JSON key path of the form field concerned, or None
    text: str  # Chinese explanation for people

    def to_json(self) -> dict:
        return {"rule": str(self.rule), "field": self.field, "text": self.text}


@dataclass
class Verdict:
    decision: str  # a Decision
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
        return list(dict.fromkeys(str(r.rule) for r in self.reasons))

    def to_json(self) -> dict:
        return {
            "decision": str(self.decision),
            "reasons": [r.to_json() for r in self.reasons],
            "flags": [r.to_json() for r in self.flags],
            "form": self.form.to_json() if self.form else None,
            "field": self.field,
            "session": self.session,
        }
