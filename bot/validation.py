"""The kinds of value an admin writes in config.toml and the rule files, declared once, and
pydantic's errors turned into Chinese sentences that name the key and say what to write.

Each type below carries a `Kind`: the words for what the value must be ("正整数"). The models of
config.py and rules/model.py are built from these types, so a wrong value anywhere reads the same:
`“capacity”应为正整数，而不是字符串`. `explain` turns one pydantic error into such a sentence;
where it sits in the file (`file:line`) is the caller's business (tomlpos.py finds the line).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Iterable, Literal, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, Strict
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

PROBLEM = "bot_problem"  # the error type of our own checks: the message is already the admin's sentence


@dataclass(frozen=True)
class Kind:
    """What a value must be, in words, e.g. "正整数" or "日期（如 2026-12-22）"."""

    text: str


@dataclass(frozen=True)
class Required:
    """The admin must write this key, though code may build the object without it (a default)."""


def required_keys(fields: dict[str, FieldInfo]) -> list[str]:
    """Keys the file must hold: no default, or marked Required()."""
    return [name for name, info in fields.items()
            if info.is_required() or any(isinstance(m, Required) for m in info.metadata)]


def problem(message: str) -> PydanticCustomError:
    """An error raised by a validator, whose message is shown to the admin as it is."""
    return PydanticCustomError(PROBLEM, "{message}", {"message": message})


def _to_date(value: Any) -> Any:
    # Admins often quote dates: a quoted ISO date is accepted. A date-time is not a date.
    if isinstance(value, datetime):
        raise problem(f"应为日期（如 2026-12-22），而不是日期时间 {value}")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise problem(f"的值“{value}”不是有效的日期（应如 2026-12-22）") from None
    return value


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise problem(f"应为 \"HH:MM\" 格式的时间（如 \"09:00\"），而不是“{value}”")
    return value


Text = Annotated[str, Strict(), Kind("字符串")]
Texts = Annotated[tuple[Text, ...], Kind("字符串列表")]
Int = Annotated[int, Strict(), Kind("整数")]
PositiveInt = Annotated[int, Strict(), Ge(1), Kind("正整数")]
Count = Annotated[int, Strict(), Ge(0), Kind("不小于 0 的整数")]
Counts = Annotated[tuple[Count, ...], Kind("整数列表（每项不小于 0）")]
Seconds = Annotated[float, Strict(), Ge(0), Kind("秒数（不小于 0）")]
Flag = Annotated[bool, Strict(), Kind("true 或 false")]
Day = Annotated[date, BeforeValidator(_to_date), Strict(), Kind("日期（如 2026-12-22）")]
ClockTime = Annotated[str, Strict(), AfterValidator(_hhmm), Kind("时间（如 \"09:00\"）")]


def describe(info: FieldInfo | None) -> str:
    """The words for what a field must be, with its range when it has both ends."""
    if info is None:
        return "正确的值"
    if get_origin(info.annotation) is Literal:
        return f"{'、'.join(map(str, get_args(info.annotation)))} 之一"
    kind = next((m.text for m in info.metadata if isinstance(m, Kind)), None)
    low = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    if kind is None:  # an Optional field keeps its Kind inside the union
        kind = next((m.text for arg in _annotation_args(info.annotation)
                     for m in getattr(arg, "__metadata__", ()) if isinstance(m, Kind)), "正确的值")
    if low is not None and high is not None:
        return f"{low} 到 {high} 之间的{kind.replace('不小于 0 的', '')}"
    return kind


def _annotation_args(annotation: Any) -> tuple:
    return getattr(annotation, "__args__", ()) or ()


def type_name(value: Any) -> str:
    """What the admin wrote, in words (for "应为…，而不是…")."""
    for kind, text in ((bool, "布尔值"), (str, "字符串"), (int, "整数"), (float, "小数"),
                       (datetime, "日期时间"), (date, "日期"), (list, "列表"), (tuple, "列表"),
                       (dict, "表")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def unknown_key(key: str, allowed: Iterable[str], prefix: str = "") -> str:
    """An unknown key, the nearest known one when it looks like a typo, and the keys allowed."""
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f"，是否应为“{prefix}{close[0]}”？" if close else ""
    return f"未知的键“{prefix}{key}”{hint}（可用的键：{'、'.join(allowed)}）"


_RANGE_TYPES = {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}
_UNKNOWN_TYPES = {"extra_forbidden", "unexpected_keyword_argument"}
_MISSING_TYPES = {"missing", "missing_argument", "missing_keyword_only_argument"}


def first_per_key(errors: list[dict]) -> list[dict]:
    """One error per key: a list with five wrong items is one problem for the admin, not five."""
    seen, kept = set(), []
    for error in errors:
        key = tuple(part for part in error["loc"] if not isinstance(part, int))
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def explain(error: dict, fields: dict[str, FieldInfo], label: str = "", prefix: str = "") -> str:
    """One pydantic error as a sentence. `fields` are the model's fields (for the kind and the
    allowed keys); `label` names the entry, e.g. "[[session]]“2026-12”", for a missing key;
    `prefix` goes before the key's name ("smtp.")."""
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    key = loc[-1] if loc else ""
    name = f"{prefix}{key}"
    kind = error["type"]
    value = error.get("input")
    if kind == PROBLEM:
        return f"“{name}”{error['ctx']['message']}" if key else error["ctx"]["message"]
    if kind in _UNKNOWN_TYPES:
        return unknown_key(key, fields, prefix)
    if kind in _MISSING_TYPES:
        return f"{label}缺少必填的键“{name}”"
    wanted = describe(fields.get(key))
    wanted = f" {wanted}" if wanted[:1].isascii() else wanted  # "应为 1 到 8 之间的整数"
    if kind == "literal_error":
        allowed = "、".join(re.findall(r"'([^']*)'", error["ctx"]["expected"]))
        return f"“{name}”应为 {allowed} 之一，而不是{shown(value)}"
    if kind in _RANGE_TYPES:
        return f"“{name}”应为{wanted}，而不是 {shown(value)}"
    position = next((part for part in error["loc"] if isinstance(part, int)), None)
    if position is not None:  # one item of a list is wrong
        text = shown(value)
        return f"“{name}”应为{wanted}，而第 {position + 1} 项是{type_name(value)}{text if text[0] == '“' else ' ' + text}"
    return f"“{name}”应为{wanted}，而不是{type_name(value)}"
