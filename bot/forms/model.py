"""The registration form (附件2 来访企业预约登记表) as the bot sees it.

Readers fill a `Form` with trimmed, normalised values; anything they cannot
normalise is kept as written so that validation can name it (FORM-INVALID).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

DECLARATION_KEYS = ("judicial", "discipline", "petition", "proposal")


@dataclass
class Declarations:
    judicial: bool | None = None
    discipline: bool | None = None
    petition: bool | None = None
    proposal: bool | None = None


@dataclass(frozen=True)
class FieldSource:
    """Where a value was read: `via` is xlsx, docx, xls, doc, pdf-text, ocr or body; OCR adds its
    confidence (0..1, the lowest of the recognised pieces the value is made of)."""

    via: str
    confidence: float | None = None

    def to_json(self) -> dict:
        out: dict = {"via": self.via}
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 3)
        return out


@dataclass
class Form:
    enterprise_name: str | None = None
    credit_code: str | None = None
    district: str | None = None
    enterprise_types: list[str] = dataclasses.field(default_factory=list)
    industry: str | None = None
    legal_representative: str | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    attendees: list[str] = dataclasses.field(default_factory=list)
    field: str | None = None
    title: str | None = None
    facts: str | None = None
    reasons: str | None = None
    requests: str | None = None
    suggested_departments: list[str] = dataclasses.field(default_factory=list)
    meeting_format: str | None = None
    declarations: Declarations = dataclasses.field(default_factory=Declarations)
    signed_date: str | None = None
    # JSON key -> where its value came from; not part of the form object of the contract
    sources: dict[str, FieldSource] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict:
        """The `form` object of `parse --json` / `triage --json` (key order fixed by the spec).
        Built field by field: `asdict` would deep-copy `sources` only to drop it (it was ~2 ms a
        mail, called several times per mail)."""
        return {f.name: _plain(getattr(self, f.name)) for f in _FORM_FIELDS}

    def sources_json(self) -> dict:
        """`"sources": {"credit_code": {"via": "ocr", "confidence": 0.97}}` for `parse --json`."""
        return {key: source.to_json() for key, source in self.sources.items()}

    @classmethod
    def from_json(cls, data: dict) -> "Form":
        data = dict(data)
        decl = Declarations(**(data.pop("declarations", None) or {}))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "sources"}
        return cls(declarations=decl, **known)

    def is_blank(self) -> bool:
        """True when nothing at all was filled in (an empty template sent back)."""
        values = [getattr(self, f.name) for f in _FORM_FIELDS if f.name != "declarations"]
        decl = [getattr(self.declarations, key) for key in DECLARATION_KEYS]
        return not any(values) and all(d is None for d in decl)


_FORM_FIELDS = tuple(f for f in dataclasses.fields(Form) if f.name != "sources")


def _plain(value):
    """A field's value as JSON holds it: lists copied, the declarations a dict."""
    if isinstance(value, list):
        return list(value)
    return asdict(value) if isinstance(value, Declarations) else value


# The labels printed on the blank form, in print order, with the JSON key each fills.
CANONICAL_LABELS: list[tuple[str, str]] = [
    ("企业名称", "enterprise_name"),
    ("统一社会信用代码", "credit_code"),
    ("所属地区", "district"),
    ("企业类型", "enterprise_types"),
    ("所属行业", "industry"),
    ("法定代表人", "legal_representative"),
    ("联系人", "contact_name"),
    ("职务", "contact_title"),
    ("联系电话", "contact_phone"),
    ("电子邮箱", "contact_email"),
    ("参加接待人员", "attendees"),
    ("诉求领域", "field"),
    ("诉求标题", "title"),
    ("基本情况", "facts"),
    ("理由依据", "reasons"),
    ("具体请求", "requests"),
    ("建议解决部门", "suggested_departments"),
    ("接待形式", "meeting_format"),
    ("是否已进入司法程序、行政复议或仲裁程序", "declarations.judicial"),
    ("是否已由纪委监委受理", "declarations.discipline"),
    ("是否已通过信访渠道反映", "declarations.petition"),
    ("是否已列入人大建议、政协提案办理", "declarations.proposal"),
    ("填报日期", "signed_date"),
]

LABEL_OF_KEY: dict[str, str] = {key: label for label, key in CANONICAL_LABELS}

ENTERPRISE_TYPES = ("规上企业", "上市后备企业", "高新技术企业", "其他")
MEETING_FORMATS = ("座谈会", "现场会", "早餐会", "走访企业")
