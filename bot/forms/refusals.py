"""The Chinese texts of a FORM-UNREADABLE reply: what was wrong with the file and what to send."""

from __future__ import annotations

from bot.errors import FormUnreadable
from bot.forms.safezip import CORRUPT_DETAIL

ASK_FOR_FORM = ("请将填写好的《来访企业预约登记表》作为附件重新发送，Word、Excel、WPS 文件（.docx、.doc、.xlsx、"
                ".xls、.wps、.et）、PDF 或清晰完整的照片、扫描件均可（空白登记表见本邮件附件）。")
ASK_FOR_TYPED = ("请使用本邮件所附的电子版登记表，用电脑填写后以 .docx 或 .xlsx 格式发送；"
                 "如需发送纸质登记表，请打印填写（勿手写）后拍摄清晰、端正、完整的照片发送。")
DETAILS = {
    "empty": "附件是空文件（0 字节）。",
    "encrypted": "附件设置了打开密码，系统无法读取。请取消密码后重新发送。",
    "old-format": "附件是系统无法识别的旧版文件格式。",
    "rtf": "附件是 RTF 格式文件，系统暂不能读取。请在 Word 或 WPS 中“另存为” .docx 或 .doc 后重新发送。",
    "pdf": "附件中的 PDF 文件无法读取。",
    "image": "附件中的图片无法读取。",
    "illegible": "附件中的登记表图片无法清晰识别（可能是手写、模糊、反光或拍摄不完整），"
                 "为避免信息登记错误，系统未采用识别结果。",
    "archive": "压缩包中没有找到可以读取的登记表。",
    "nested-archive": "压缩包中又套有压缩包，系统只打开一层压缩包。请直接附上登记表，或只压缩一层后发送。",
    "rar": "附件是 RAR 压缩包，系统暂不能解压。请直接附上登记表，或改用 .zip 格式压缩后发送。",
    "unknown": "无法识别附件的文件格式。",
    "no-form": "附件中没有找到《来访企业预约登记表》的内容（如“企业名称”“联系人”“联系电话”等栏目）。",
    "no-identity": "附件中没有找到登记表的“企业名称”“统一社会信用代码”栏目，无法确认是哪家企业的登记表。",
}
_TYPED = ("illegible",)


def unreadable(reason: str, filename: str | None = None) -> FormUnreadable:
    """FormUnreadable with the reply text for `reason` (a key of DETAILS, or "corrupt")."""
    if reason == "corrupt":
        detail = CORRUPT_DETAIL
    else:
        detail = DETAILS.get(reason, DETAILS["unknown"]) + (ASK_FOR_TYPED if reason in _TYPED else ASK_FOR_FORM)
    return FormUnreadable(reason, name_prefix(filename) + detail)


def name_prefix(filename: str | None) -> str:
    """Name the attachment in the reply (display only: file names are never used as paths)."""
    name = "".join(ch for ch in (filename or "") if ch.isprintable()).strip()[:80]
    return f"“{name}”：" if name else ""
