"""The one entry point for reading a registration form: attachment bytes, mail body text or a path.

The format is judged by content (`sniff`), never by the file name; zips are opened by `safezip`
under `FormLimits`; the readers return raw label values that `build_form` normalises into a `Form`.
Anything that cannot be read raises `FormUnreadable` with a Chinese `detail` for the reply.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import FormUnreadable
from bot.forms import normalize as norm
from bot.forms.body import MIN_LABELS, read_body_values
from bot.forms.docx import read_docx
from bot.forms.model import DECLARATION_KEYS, Declarations, Form
from bot.forms.safezip import CORRUPT_DETAIL, SafeZip, stored_zip
from bot.forms.sniff import ole_kind, sniff
from bot.forms.xlsx import read_xlsx


@dataclass(frozen=True)
class FormLimits:
    max_uncompressed: int = 100 * 2**20  # bytes inflated from one .xlsx/.docx, all members together
    max_ratio: int = 100  # inflated / compressed, per member
    max_rows: int = 20000  # rows read per sheet (or table rows + paragraphs of a document)


DEFAULT_LIMITS = FormLimits()

_ASK_FOR_FORM = "请将填写好的《来访企业预约登记表》以 .xlsx 或 .docx 格式作为附件发送（空白登记表见本邮件附件）。"
_DETAILS = {
    "empty": "附件是空文件（0 字节）。",
    "encrypted": "附件设置了打开密码，系统无法读取。请取消密码后重新发送。",
    "old-format": "附件是旧版 Word/Excel/WPS 格式（.doc、.xls、.wps、.et），系统无法自动读取。"
                  "请在 Word、Excel 或 WPS 中“另存为” .docx 或 .xlsx 后重新发送。",
    "pdf": "附件是 PDF 文件，系统无法自动读取其中的内容。",
    "image": "附件是图片（照片或扫描件），系统无法自动识别其中的内容。",
    "zip": "附件是压缩包，系统不解压读取。",
    "unknown": "无法识别附件的文件格式。",
    "no-form": "附件中没有找到《来访企业预约登记表》的内容（如“企业名称”“联系人”“联系电话”等栏目）。",
}


def read_attachment(data: bytes, filename: str | None = None, *, districts=(), city: str = "",
                    limits: FormLimits = DEFAULT_LIMITS) -> Form:
    """The form in an attachment; raises FormUnreadable (reason tag + Chinese detail)."""
    values = _raw_values(data, filename, limits)
    if len(values) < MIN_LABELS:
        raise _unreadable("no-form", filename)
    return build_form(values, districts=districts, city=city)


def read_body(text: str, *, districts=(), city: str = "") -> Form | None:
    """The form typed into a mail body as `label：value` lines, or None when there is none."""
    values = read_body_values(text or "")
    return None if values is None else build_form(values, districts=districts, city=city)


def read_path(path, *, districts=(), city: str = "", limits: FormLimits = DEFAULT_LIMITS) -> Form:
    """The form in a .xlsx, .docx or .txt file (for `parse FILE --json`)."""
    data = Path(path).read_bytes()
    return read_attachment(data, Path(path).name, districts=districts, city=city, limits=limits)


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


def _raw_values(data: bytes, filename: str | None, limits: FormLimits) -> dict[str, str]:
    if not data:
        raise _unreadable("empty")
    kind = sniff(data)
    try:
        if kind in ("xlsx", "xlsm"):
            # openpyxl opens the zip itself: give it the checked members, stored uncompressed
            return read_xlsx(stored_zip(_archive(data, limits).read_all()), max_rows=limits.max_rows)
        if kind in ("docx", "docm"):
            return read_docx(_archive(data, limits), max_rows=limits.max_rows)
    except RecursionError:  # absurdly nested XML
        raise FormUnreadable("corrupt", CORRUPT_DETAIL) from None
    if kind == "text":
        return read_body_values(_decode(data)) or {}
    raise _unreadable(_refusal_reason(kind, data), filename)


def _archive(data: bytes, limits: FormLimits) -> SafeZip:
    return SafeZip(data, max_uncompressed=limits.max_uncompressed, max_ratio=limits.max_ratio)


def _refusal_reason(kind: str, data: bytes) -> str:
    if kind == "ole":
        return "encrypted" if ole_kind(data) == "encrypted" else "old-format"
    if kind == "zip":
        return "zip" if _zip_opens(data) else "corrupt"
    return kind if kind in _DETAILS else "unknown"


def _zip_opens(data: bytes) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(data)).close()
        return True
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False


def _unreadable(reason: str, filename: str | None = None) -> FormUnreadable:
    detail = CORRUPT_DETAIL if reason == "corrupt" else _DETAILS[reason] + _ASK_FOR_FORM
    return FormUnreadable(reason, _name_prefix(filename) + detail)


def _name_prefix(filename: str | None) -> str:
    """Name the attachment in the reply (display only: file names are never used as paths)."""
    name = "".join(ch for ch in (filename or "") if ch.isprintable()).strip()[:80]
    return f"“{name}”：" if name else ""


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
