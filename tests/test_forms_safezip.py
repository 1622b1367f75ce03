"""Zip bombs, lying directories, DTDs: refused quickly, before anything big is inflated."""

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from bot.errors import FormUnreadable
from bot.forms.reader import FormLimits, read_attachment
from bot.forms.safezip import read_members, stored_zip

FORMS = Path(__file__).parent / "data" / "forms"
LIMITS = dict(max_uncompressed=100 * 2**20, max_ratio=100)
DOCX_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
              b'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
              b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>
<w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""


def _zeros_member(path: Path, size: int) -> Path:
    """A docx-looking zip whose document part is `size` zero bytes, written in a streaming way."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", DOCX_TYPES)
        with archive.open("word/document.xml", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return path


def _patch_declared_size(data: bytes, name: bytes, size: int) -> bytes:
    """Make the local header and the central directory both lie about a member's size."""
    data = bytearray(data)
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        header = data.index(signature)
        while data[header + name_at:header + name_at + len(name)] != name:
            header = data.index(signature, header + 4)
        data[header + size_at:header + size_at + 4] = struct.pack("<I", size)
    return bytes(data)


def _rezip(source: bytes, replace: dict[str, bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(source))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in src.namelist():
            target.writestr(name, replace.get(name, src.read(name)))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> bytes:
    path = _zeros_member(tmp_path_factory.mktemp("bomb") / "bomb.docx", 200 * 2**20)
    return path.read_bytes()


def test_bomb_is_small_on_disk(bomb):
    assert len(bomb) < 1 * 2**20  # ~200 KB carrying 200 MB


def test_bomb_refused_from_the_directory(bomb):
    started = time.perf_counter()
    with pytest.raises(FormUnreadable) as error:
        read_attachment(bomb, "bomb.docx")
    assert error.value.reason == "zip-bomb"
    assert time.perf_counter() - started < 1.0
    assert "安全限制" in error.value.detail


def test_ratio_limit_alone_refuses(bomb):
    with pytest.raises(FormUnreadable) as error:
        read_members(bomb, max_uncompressed=10 * 2**30, max_ratio=100)
    assert error.value.reason == "zip-bomb"


def test_directory_that_lies_is_caught_while_inflating(bomb):
    liar = _patch_declared_size(bomb, b"word/document.xml", 4000)
    assert zipfile.ZipFile(io.BytesIO(liar)).getinfo("word/document.xml").file_size == 4000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FormUnreadable) as error:
        read_attachment(liar, "liar.docx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert error.value.reason == "zip-bomb"
    assert time.perf_counter() - started < 1.0
    assert peak < 20 * 2**20  # nothing near 200 MB was ever inflated


def test_directory_understating_a_normal_member_is_caught():
    data = (FORMS / "d01_canonical_table.docx").read_bytes()
    liar = _patch_declared_size(data, b"word/document.xml", 100)
    with pytest.raises(FormUnreadable) as error:
        read_attachment(liar, "liar.docx")
    assert error.value.reason == "zip-bomb"


def test_total_budget_is_configurable():
    data = (FORMS / "d01_canonical_table.docx").read_bytes()
    with pytest.raises(FormUnreadable) as error:
        read_attachment(data, limits=FormLimits(max_uncompressed=5000))
    assert error.value.reason == "zip-bomb"


@pytest.mark.parametrize("golden", ["d01_canonical_table.docx", "x01_canonical_two_col.xlsx"])
def test_billion_laughs_refused(golden):
    source = (FORMS / golden).read_bytes()
    part = "word/document.xml" if golden.endswith(".docx") else "xl/worksheets/sheet1.xml"
    started = time.perf_counter()
    with pytest.raises(FormUnreadable) as error:
        read_attachment(_rezip(source, {part: BILLION_LAUGHS}), golden)
    assert error.value.reason == "xml-entities"
    assert time.perf_counter() - started < 1.0


def test_external_entity_refused():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
    source = (FORMS / "d01_canonical_table.docx").read_bytes()
    with pytest.raises(FormUnreadable) as error:
        read_attachment(_rezip(source, {"_rels/.rels": xxe}))
    assert error.value.reason == "xml-entities"


def test_utf16_doctype_is_seen():
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY b "c">]><a/>'
    members = {"[Content_Types].xml": b"<Types/>", "a.xml": b"\xff\xfe" + xml.encode("utf-16-le")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(FormUnreadable) as error:
        read_members(buffer.getvalue(), **LIMITS)
    assert error.value.reason == "xml-entities"


def test_corrupted_data_is_corrupt_not_a_crash():
    data = bytearray((FORMS / "d01_canonical_table.docx").read_bytes())
    start = data.index(b"word/document.xml") + len(b"word/document.xml")
    for i in range(start, start + 200):
        data[i] ^= 0x5A
    with pytest.raises(FormUnreadable) as error:
        read_attachment(bytes(data))
    assert error.value.reason == "corrupt"


def test_encrypted_member_flag():
    data = bytearray((FORMS / "d01_canonical_table.docx").read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x01
    local = struct.unpack("<I", data[central + 42:central + 46])[0]
    data[local + 6] |= 0x01
    with pytest.raises(FormUnreadable) as error:
        read_members(bytes(data), **LIMITS)
    assert error.value.reason == "encrypted"


def test_members_and_stored_copy_are_exact():
    data = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    members = read_members(data, **LIMITS)
    original = zipfile.ZipFile(io.BytesIO(data))
    assert members == {name: original.read(name) for name in original.namelist()}
    copy = zipfile.ZipFile(io.BytesIO(stored_zip(members)))
    assert all(info.compress_type == zipfile.ZIP_STORED for info in copy.infolist())
    assert {name: copy.read(name) for name in copy.namelist()} == members
