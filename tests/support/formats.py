"""Judging a form read from a golden file of tests/data/formats against its expected values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.forms.confidence import doubtful_keys
from bot.forms.model import DECLARATION_KEYS, Form
from bot.forms.validate import credit_code_problem, district_problem, phone_problem

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
DISTRICTS = ("海勃湾区", "乌达区", "海南区")
MANDATORY = ("enterprise_name", "credit_code", "district", "contact_name", "contact_phone",
             *(f"declarations.{key}" for key in DECLARATION_KEYS))
OCR_KINDS = ("scan", "photo", "illegible")


def goldens(*kinds: str) -> list[Path]:
    paths = sorted(p for p in DATA.iterdir() if p.suffix != ".json")
    return [p for p in paths if not kinds or meta(p)["kind"] in kinds]


def meta(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def value(data: dict, key: str):
    head, _, sub = key.partition(".")
    return data[head][sub] if sub else data[head]


@dataclass
class Judgement:
    right: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # wrong or missing, but flagged and asked back
    wrong: list[str] = field(default_factory=list)  # wrong and accepted silently: never allowed


def judge(form: Form, expect: dict) -> Judgement:
    """Every mandatory value is right, or asked back (doubtful, invalid or empty)."""
    doubtful = set(doubtful_keys(form))
    read = form.to_json()
    result = Judgement()
    for key in MANDATORY:
        if value(read, key) == value(expect, key):
            result.right.append(key)
        elif key in doubtful or _invalid_or_empty(key, value(read, key)):
            result.asked.append(key)
        else:
            result.wrong.append(f"{key}: read {value(read, key)!r}, expected {value(expect, key)!r}")
    return result


def _invalid_or_empty(key: str, read) -> bool:
    if read in (None, "", []):
        return True
    check = {"credit_code": credit_code_problem, "contact_phone": phone_problem,
             "district": lambda v: district_problem(v, DISTRICTS)}.get(key)
    return bool(check and check(read))
