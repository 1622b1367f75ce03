"""Validation of the values a form carries (FORM-INVALID). Empty values are not judged here:
a missing mandatory field is FORM-INCOMPLETE, decided by the rules.

The credit code check is bot/uscc.py's, shared with the roster.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import phonenumbers

from bot.forms.model import LABEL_OF_KEY, Form
from bot.uscc import credit_code_problem, uscc_check_char
from bot.verdict import Reason, Rule

RULE = Rule.FORM_INVALID
__all__ = ["credit_code_problem", "uscc_check_char", "validate"]  # the credit code check lives in bot/uscc.py

_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PHONE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def validate(form: Form, districts: tuple[str, ...] = ()) -> list[Reason]:
    """One FORM-INVALID reason per filled value that fails its check, in form order."""
    checks = (
        ("credit_code", form.credit_code, credit_code_problem),
        ("district", form.district, lambda value: district_problem(value, districts)),
        ("contact_phone", form.contact_phone, phone_problem),
        ("contact_email", form.contact_email, email_problem),
        ("signed_date", form.signed_date, date_problem),
    )
    reasons = []
    for key, value, check in checks:
        problem = check(value) if value else None
        if problem:
            reasons.append(Reason(RULE, key, f"“{LABEL_OF_KEY[key]}”{problem}"))
    return reasons


def phone_problem(phone: str) -> str | None:
    """Checked once per process for a value of a phone number's length (~0.06 ms each; an
    enterprise writes the same number in every form it sends). A longer value, which a stranger
    can make up to a cell's 4,000 characters, is checked without being kept."""
    return _cached_phone_problem(phone) if len(phone) <= _CACHED_PHONE else _phone_problem(phone)


_CACHED_PHONE = 40  # characters: "+86 (0473) 899-1510 转 8001" and the like fit


def _phone_problem(phone: str) -> str | None:
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        if phonenumbers.number_type(number) in _PHONE_TYPES:
            return None
    return "无法识别，请填写11位手机号码，或带区号的固定电话（如 0473-8991510）。"


_cached_phone_problem = lru_cache(maxsize=4096)(_phone_problem)


def email_problem(email: str) -> str | None:
    if _EMAIL.match(email):
        return None
    return "格式不正确，请填写有效的电子邮箱地址（如 name@example.com）。"


def date_problem(date: str) -> str | None:
    if _ISO_DATE.match(date):
        try:
            dt.date.fromisoformat(date)
            return None
        except ValueError:
            pass
    return "不是有效的日期，请按“2024年3月5日”的格式填写。"


def district_problem(district: str, districts: tuple[str, ...]) -> str | None:
    if not districts or district in districts:
        return None
    return f"应为本次接待日所涉及的地区之一（{'、'.join(districts)}），请重新填写。"
