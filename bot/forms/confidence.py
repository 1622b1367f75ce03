"""Values read by OCR that a person must confirm.

A value whose recognition confidence is under OCR_THRESHOLD is never taken on trust: a mandatory one
is asked back (FORM-INVALID naming the field and quoting what was read), every one is flagged
OCR-CHECK for the admin, and a declaration read that way never rejects a mail on its own. A photo
whose mandatory values are mostly doubtful (handwriting, blur) is not read at all: the enterprise is
asked for a typed form instead.
"""

from __future__ import annotations

from bot.forms.model import DECLARATION_KEYS, LABEL_OF_KEY, Form
from bot.forms.refusals import unreadable
from bot.verdict import Reason, Rule

OCR_THRESHOLD = 0.85
# Names no check can confirm (a credit code has its check character, a phone its pattern, a district
# its list): a recogniser may drop a character of a name with full confidence (陈晓明 read as 陈明).
# Read from an image, they are always flagged for the admin and echoed back for the enterprise to
# confirm, however sure the recogniser was.
UNVERIFIABLE = ("enterprise_name", "contact_name")
ASKED_KEYS = ("enterprise_name", "credit_code", "district", "contact_name", "contact_phone",
              *(f"declarations.{key}" for key in DECLARATION_KEYS))
ILLEGIBLE_AT = 4  # this many doubtful mandatory values: the photo is not a readable form


def doubtful_keys(form: Form) -> list[str]:
    """JSON keys (form order) of the values read by OCR under the threshold."""
    return [key for key, source in form.sources.items()
            if source.via == "ocr" and (source.confidence or 0.0) < OCR_THRESHOLD]


def check_ocr_form(form: Form, filename: str | None = None) -> None:
    """Refuse a recognised form whose mandatory values are mostly doubtful (FORM-UNREADABLE)."""
    asked = [key for key in doubtful_keys(form) if key in ASKED_KEYS]
    identity = form.enterprise_name or form.credit_code
    if len(asked) >= ILLEGIBLE_AT or not identity:
        raise unreadable("illegible", filename)


def value_text(form: Form, key: str) -> str:
    head, _, sub = key.partition(".")
    value = getattr(form.declarations, sub) if sub else getattr(form, head)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(value)
    return str(value or "")


def ocr_reasons(form: Form, already_invalid: set[str]) -> list[Reason]:
    """FORM-INVALID for each mandatory value OCR was not sure of (unless already invalid)."""
    return [Reason(Rule.FORM_INVALID, key, _ask_text(key, value_text(form, key)))
            for key in doubtful_keys(form) if key in ASKED_KEYS and key not in already_invalid]


def checked_keys(form: Form) -> list[str]:
    """JSON keys (form order) a person must compare with the image: the doubtful values, and the
    names read by OCR, which nothing else can confirm."""
    doubtful = set(doubtful_keys(form))
    return [key for key, source in form.sources.items()
            if key in doubtful or (source.via == "ocr" and key in UNVERIFIABLE and value_text(form, key))]


def ocr_flags(form: Form) -> list[Reason]:
    """OCR-CHECK for the admin on every value to compare with the image, with what was read and
    the confidence."""
    flags = []
    for key in checked_keys(form):
        confidence = form.sources[key].confidence or 0.0
        flags.append(Reason(Rule.OCR_CHECK, key, f"「{LABEL_OF_KEY[key]}」为图片识别结果“{value_text(form, key)}”"
                                              f"（置信度 {confidence:.2f}），请与原图核对。"))
    return flags


def confirm_lines(form: Form | None) -> list[str]:
    """For the reply: the names read from an image that the enterprise is asked to confirm."""
    if form is None:
        return []
    doubtful = set(doubtful_keys(form))  # those are asked back as FORM-INVALID instead
    return [f"{LABEL_OF_KEY[key]}：{value_text(form, key)}" for key in checked_keys(form)
            if key not in doubtful]


def _ask_text(key: str, value: str) -> str:
    label = LABEL_OF_KEY[key]
    return (f"「{label}」是从图片中识别的，识别结果为“{value}”，系统无法确认其准确无误。"
            f"请核对后在回复邮件中写明正确的{label}，或发送清晰的登记表照片或电子版登记表。")
