"""The unified social credit code (统一社会信用代码, GB 32100-2015): one validator for the forms an
enterprise sends and the roster the admin keeps.

The check is our own: python-stdnum 2.2's `cn.uscc` demands digits in the first two positions, so it
rejects valid codes issued by authorities coded with a letter (N 农业, Y 其他...).
"""

from __future__ import annotations

import re

# 31 characters (no I, O, S, V, Z) and the weights 3^i mod 31 of the check formula
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def compact(code: str) -> str:
    """Upper case, without spaces and hyphens, as written on a licence or typed in a sheet."""
    return re.sub(r"[\s\-]", "", code).upper()


def uscc_check_char(code17: str) -> str:
    """The 18th character of a unified social credit code from its first 17 (GB 32100-2015)."""
    total = sum(USCC_ALPHABET.index(ch) * weight for ch, weight in zip(code17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None for a valid (compact) code, else what is wrong, as a sentence that follows the field's name."""
    if len(code) != 18:
        return f"应为18位（现为{len(code)}位），请核对营业执照上的代码后重新填写。"
    if any(ch not in USCC_ALPHABET for ch in code) or not code[2:8].isdigit():
        return "含有无效字符，请核对营业执照上的18位代码后重新填写（代码中不含字母 I、O、S、V、Z）。"
    if uscc_check_char(code[:17]) != code[17]:
        return "校验位不正确，请核对营业执照上的18位代码后重新填写。"
    return None
