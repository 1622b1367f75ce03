"""The demand's field (诉求领域): by name or alias, else inferred from keywords."""

from __future__ import annotations

import re
from collections import Counter

from bot.forms.model import Form
from bot.rules.model import FieldRule, Ruleset

_PUNCT = re.compile(r"[\s\u3000,，、;；:：.。/（）()《》<>\"'“”‘’\-—_·]+")


def _norm(text: str) -> str:
    return _PUNCT.sub("", text or "").lower()


def match_field_name(written: str | None, rules: Ruleset) -> FieldRule | None:
    """The field whose name or alias equals what was written (spaces and punctuation ignored)."""
    key = _norm(written or "")
    if not key:
        return None
    for rule in rules.fields:
        if key in {_norm(rule.name), *(_norm(a) for a in rule.aliases)}:
            return rule
    return None


def infer_field(form: Form, rules: Ruleset) -> FieldRule | None:
    """Most keyword hits in title, facts and requests wins; no hit or a tie gives None."""
    text = " ".join(filter(None, [form.title, form.facts, form.requests]))
    if not text:
        return None
    hits = Counter({r.id: sum(text.count(k) for k in r.keywords if k) for r in rules.fields})
    ranked = [(fid, n) for fid, n in hits.most_common() if n > 0]
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return rules.field_by_id(ranked[0][0])


def resolve_field(form: Form, rules: Ruleset) -> FieldRule | None:
    return match_field_name(form.field, rules) or infer_field(form, rules)
