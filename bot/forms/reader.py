"""The one entry point for reading a registration form: attachment bytes, mail body text or a path.

The format is judged by content (`formats`, `sniff`), never by the file name; everything one mail
makes the readers inflate, decode or produce is charged to one `FormBudget`; the readers return raw
label values that `build_form` normalises into a `Form`, with where each value came from.
Anything that cannot be read raises `FormUnreadable` with a Chinese `detail` for the reply.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import FormUnreadable
from bot.forms import normalize as norm
from bot.forms.body import MIN_LABELS, read_body_values
from bot.forms.budget import FormBudget, FormLimits, budget_for
from bot.forms.confidence import check_ocr_form
from bot.forms.formats import read_values
from bot.forms.model import DECLARATION_KEYS, Declarations, FieldSource, Form
from bot.forms.raw import RawValues
from bot.forms.refusals import DETAILS as _DETAILS  # noqa: F401 - kept importable for callers
from bot.forms.refusals import name_prefix, unreadable

IDENTITY_KEYS = ("enterprise_name", "credit_code")


def read_attachment(data: bytes, filename: str | None = None, *, districts=(), city: str = "",
                    limits: FormLimits | None = None, budget: FormBudget | None = None) -> Form:
    """The form in an attachment; raises FormUnreadable (reason tag + Chinese detail).

    `budget` is the mail's (shared by all its attachments); without one the file gets its own.
    """
    budget = budget_for(budget, limits)
    try:
        raw = read_values(data, budget)
    except FormUnreadable as exc:
        raise _named(exc, filename) from None
    if raw.labels() < MIN_LABELS:
        raise unreadable("no-form", filename)
    if not any(key in raw.values for key in IDENTITY_KEYS):
        # a document with some labels but no 企业名称/信用代码 label at all is not a form that was
        # read (zero-width characters once hid those labels): asking again beats calling it anonymous
        raise unreadable("no-identity", filename)
    form = build_form(raw.values, districts=districts, city=city)
    form.sources = sources_of(form, raw)
    if raw.via == "ocr":
        check_ocr_form(form, filename)
    return form


def read_body(text: str, *, districts=(), city: str = "") -> Form | None:
    """The form typed into a mail body as `label：value` lines, or None when there is none."""
    values = read_body_values(text or "")
    if values is None or not any(key in values for key in IDENTITY_KEYS):
        return None
    form = build_form(values, districts=districts, city=city)
    form.sources = sources_of(form, RawValues(values, "body"))
    return form


def read_path(path, *, districts=(), city: str = "", limits: FormLimits | None = None) -> Form:
    """The form in any file a form may come in (for `parse FILE --json`)."""
    data = Path(path).read_bytes()
    return read_attachment(data, Path(path).name, districts=districts, city=city, limits=limits)


def sources_of(form: Form, raw: RawValues) -> dict[str, FieldSource]:
    """Where each filled value came from, by JSON key (declarations as `declarations.x`)."""
    filled = form.to_json()
    sources = {}
    for key in raw.values:
        head, _, sub = key.partition(".")
        value = filled[head][sub] if sub else filled.get(head)
        if value in (None, [], ""):
            continue
        sources[key] = FieldSource(raw.via, raw.confidence.get(key))
    return sources


def _named(exc: FormUnreadable, filename: str | None) -> FormUnreadable:
    prefix = name_prefix(filename)
    if not prefix or exc.detail.startswith(prefix):
        return exc
    return FormUnreadable(exc.reason, prefix + exc.detail)


def build_form(values: dict[str, str], *, districts=(), city: str = "") -> Form:
    """Normalise raw label values into a Form (values that cannot be normalised stay as written)."""
    get = values.get
    return Form(
        enterprise_name=norm.clean(get("enterprise_name")),
        credit_code=norm.normalize_credit_code(get("credit_code")),
        district=norm.normalize_district(get("district"), districts, city),
        enterprise_types=norm.parse_enterprise_types(get("enterprise_types")),
        industry=norm.clean(get("industry")),
        legal_representative=norm.clean(get("legal_representative")),
        contact_name=norm.clean(get("contact_name")),
        contact_title=norm.clean(get("contact_title")),
        contact_phone=norm.normalize_phone(get("contact_phone")),
        contact_email=norm.normalize_email(get("contact_email")),
        attendees=norm.split_list(get("attendees")),
        field=norm.parse_choice(get("field")),
        title=norm.clean(get("title")),
        facts=norm.clean(get("facts")),
        reasons=norm.clean(get("reasons")),
        requests=norm.clean(get("requests")),
        suggested_departments=norm.split_list(get("suggested_departments")),
        meeting_format=norm.parse_choice(get("meeting_format")),
        declarations=Declarations(**{
            key: norm.parse_yes_no(get(f"declarations.{key}")) for key in DECLARATION_KEYS
        }),
        signed_date=norm.normalize_date(get("signed_date")),
    )


