"""Two-way matching of a demand's field to the sessions (spec/interfaces.md, "Matching")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from bot.rules.model import Ruleset, Session
from bot.verdict import Rule


@dataclass(frozen=True)
class Match:
    rule: str  # MATCH-CURRENT | MATCH-LATER | WINDOW-CLOSED | SESSION-FULL | NO-SESSION
    session: Session | None


def open_session(rules: Ruleset, today: date) -> Session | None:
    """The earliest session whose registration window holds `today`."""
    holding = [s for s in rules.sessions
               if s.registration_opens <= today <= s.registration_closes]
    return min(holding, key=lambda s: (s.date, s.id), default=None)


def match_session(field_id: str, rules: Ruleset, today: date,
                  used: Callable[[str], int]) -> Match:
    """`used(session_id)` counts the demands already accepted for a session."""

    def full(s: Session) -> bool:
        return used(s.id) >= s.capacity

    current = open_session(rules, today)
    if current and field_id in current.fields and not full(current):
        return Match(Rule.MATCH_CURRENT, current)
    ahead = sorted((s for s in rules.sessions if s.date > today and field_id in s.fields),
                   key=lambda s: (s.date, s.id))
    target = next((s for s in ahead  # the first that has room: later ones are not counted
                   if s.registration_closes >= today and s is not current and not full(s)), None)
    if current and field_id in current.fields:
        return Match(Rule.SESSION_FULL, target)
    if not ahead:
        return Match(Rule.NO_SESSION, None)
    if ahead[0].registration_closes < today:
        return Match(Rule.WINDOW_CLOSED, target)
    return Match(Rule.MATCH_LATER, target)
