import io
import zipfile
from pathlib import Path

import pytest

from bot.forms.sniff import OLE_MAGIC, ole_kind, sniff

FORMS = Path(__file__).parent / "data" / "forms"


def _ole(stream_name: str) -> bytes:
    """A compound-file header followed by a directory entry naming one stream (UTF-16LE)."""
    header = OLE_MAGIC + bytes(504)
    return header + stream_name.encode("utf-16-le") + bytes(64)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_ole_header_sample():
    data = bytes.fromhex("D0 CF 11 E0 A1 B1 1A E1") + bytes(512)
    assert sniff(data) == "ole"


@pytest.mark.parametrize("stream, kind", [
    ("WordDocument", "doc"), ("Workbook", "xls"), ("EncryptionInfo", "encrypted"), ("Other", "ole")])
def test_ole_kind(stream, kind):
    assert sniff(_ole(stream)) == "ole"
    assert ole_kind(_ole(stream)) == kind


def test_encrypted_ooxml_is_an_ole_container():
    msoffcrypto = pytest.importorskip("msoffcrypto")
    out = io.BytesIO()
    with open(FORMS / "x01_canonical_two_col.xlsx", "rb") as plain:
        msoffcrypto.OfficeFile(plain).encrypt("secret", out)
    assert sniff(out.getvalue()) == "ole"
    assert ole_kind(out.getvalue()) == "encrypted"


@pytest.mark.parametrize("data, kind", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image"),
    (b"GIF89a\x01\x00", "image"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "image"),
    ("企业名称：乌海市镕鑫化工有限责任公司\n联系人：李建国\n".encode("utf-8"), "text"),
    ("企业名称：乌海市镕鑫化工有限责任公司".encode("gb18030"), "text"),
    (b"{\\rtf1\\ansi\\deff0 hello}", "rtf"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
    (b"\x00\x01\x02\x03binary", "unknown"),
    (b"", "unknown"),
])
def test_magic_numbers(data, kind):
    assert sniff(data) == kind


@pytest.mark.parametrize("name, kind", [
    ("x01_canonical_two_col.xlsx", "xlsx"),
    ("d01_canonical_table.docx", "docx"),
    ("x25_xlsm_macro_enabled.xlsm", "xlsm"),
    ("d19_docm_macro_enabled.docm", "docm"),
])
def test_ooxml_by_content_not_name(name, kind):
    assert sniff((FORMS / name).read_bytes()) == kind


def test_ooxml_without_content_types_falls_back_to_part_names():
    assert sniff(_zip({"word/document.xml": b"<w:document/>"})) == "docx"
    assert sniff(_zip({"xl/workbook.xml": b"<workbook/>"})) == "xlsx"


def test_other_and_broken_zips():
    assert sniff(_zip({"readme.txt": b"hello"})) == "zip"
    whole = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    assert sniff(whole[: len(whole) // 2]) == "zip"  # truncated: no central directory
