"""What an attachment really is, judged by its bytes: people rename files, and mail clients lie."""

from __future__ import annotations

import io
import zipfile

OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a",
                 b"II*\x00", b"MM\x00*")
_CONTENT_TYPES_CAP = 1 << 20  # [Content_Types].xml is a few KB; never inflate a bomb here
SEVEN_ZIP_MAGIC = b"7z\xbc\xaf\x27\x1c"
RAR_MAGIC = b"Rar!\x1a\x07"
ARCHIVE_KINDS = ("zip", "7z", "rar")

# main-part content types of [Content_Types].xml, most specific first
_OOXML_TYPES = (
    (b"ms-excel.sheet.macroEnabled.main+xml", "xlsm"),
    (b"ms-excel.template.macroEnabled.main+xml", "xlsm"),
    (b"spreadsheetml.sheet.main+xml", "xlsx"),
    (b"spreadsheetml.template.main+xml", "xlsx"),
    (b"ms-word.document.macroEnabled.main+xml", "docm"),
    (b"ms-word.template.macroEnabledTemplate.main+xml", "docm"),
    (b"wordprocessingml.document.main+xml", "docx"),
    (b"wordprocessingml.template.main+xml", "docx"),
)


def sniff(data: bytes) -> str:
    """One of xlsx, docx, xlsm, docm, zip, 7z, rar, ole, rtf, pdf, image, text, unknown."""
    head = data[:16]
    if head.startswith(SEVEN_ZIP_MAGIC):
        return "7z"
    if head.startswith(RAR_MAGIC):
        return "rar"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(OLE_MAGIC):
        return "ole"  # .doc/.xls/.wps/.et, and encrypted OOXML (an OLE container)
    if head.startswith(b"PK"):
        return _sniff_zip(data)
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if _is_image(data):
        return "image"
    if _is_text(data):
        return "text"
    return "unknown"


def ole_kind(data: bytes) -> str:
    """Inside an OLE container: "encrypted" (password-protected OOXML), "doc", "xls" or "ole".

    Stream names are UTF-16LE in the directory sectors; a byte search is enough to tell them apart
    without parsing a structure we are going to refuse anyway.
    """
    if "EncryptionInfo".encode("utf-16-le") in data or "EncryptedPackage".encode("utf-16-le") in data:
        return "encrypted"
    if "WordDocument".encode("utf-16-le") in data:
        return "doc"
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    return "ole"


def _sniff_zip(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        types = _content_types(archive, names)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return "zip"  # starts like a zip but is not a readable one: the reader calls it corrupt
    for marker, kind in _OOXML_TYPES:
        if marker in types:
            return kind
    if "xl/workbook.xml" in names:
        return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"
    if "word/document.xml" in names:
        return "docm" if "word/vbaProject.bin" in names else "docx"
    return "zip"


def _content_types(archive: zipfile.ZipFile, names: set[str]) -> bytes:
    if "[Content_Types].xml" not in names:
        return b""
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > _CONTENT_TYPES_CAP:
        return b""
    with archive.open(info) as member:
        return member.read(_CONTENT_TYPES_CAP)


def _is_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_MAGICS):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    if data[:2] == b"BM" and data[6:10] == b"\x00\x00\x00\x00":
        return True  # BMP: "BM", file size, four reserved zero bytes
    return data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"heim")


def _is_text(data: bytes) -> bool:
    sample = data[:4096]
    if not sample or b"\x00" in sample.lstrip(b"\xff\xfe\xfe\xff"):
        return False
    if sample.startswith(b"{\\rtf"):
        return False  # WPS saves .doc as RTF; reading it is not supported
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError as error:
            if error.start >= len(sample) - 4:
                return True  # a multi-byte character cut by the sample boundary
    return False
