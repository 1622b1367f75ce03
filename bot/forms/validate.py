"""Validation of the values a form carries (FORM-INVALID). Empty values are not judged here:
a missing mandatory field is FORM-INCOMPLETE, decided by the rules.

The credit code check is our own: python-stdnum 2.2's `cn.uscc` demands digits in the first two
positions, so it rejects valid codes issued by authorities coded with a letter (N 农业, Y 其他...).
"""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from bot.forms.model import LABEL_OF_KEY, Form
from bot.verdict import Reason, Rule

RULE = Rule.FORM_INVALID

# GB 32100-2015: 31 characters (no I, O, S, V, Z) and the weights 3^i mod 31 of the check formula
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
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


def uscc_check_char(code17: str) -> str:
    """The 18th character of a unified social credit code from its first 17 (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(ch) * weight for ch, weight in zip(code17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    if len(code) != 18:
        return f"应为18位（现为{len(code)}位），请核对营业执照上的代码后重新填写。"
    if any(ch not in USCC_ALPHABET for ch in code) or not code[2:8].isdigit():
        return "含有无效字符，请核对营业执照上的18位代码后重新填写（代码中不含字母 I、O、S、V、Z）。"
    if uscc_check_char(code[:17]) != code[17]:
        return "校验位不正确，请核对营业执照上的18位代码后重新填写。"
    return None


def phone_problem(phone: str) -> str | None:
    try:
        number = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        if phonenumbers.number_type(number) in _PHONE_TYPES:
            return None
    return "无法识别，请填写11位手机号码，或带区号的固定电话（如 0473-8991510）。"


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
