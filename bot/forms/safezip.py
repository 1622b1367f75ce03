"""Opening an OOXML (zip) attachment without letting it hurt us.

The zip directory is checked first (declared total size, ratio per member), but a directory can lie,
so every member is inflated here with our own byte counting: a member that inflates beyond what it
declared, beyond the ratio or beyond the remaining budget is refused mid-stream. XML parts carrying a
DTD (billion laughs, external entities) are refused: OPC forbids DTDs, so no real form has one.
The checked members are handed to the readers as an in-memory *stored* zip, so openpyxl and
python-docx read exactly the bytes that were checked and inflate nothing themselves.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget, FormLimits

MAX_MEMBERS = 10_000
# Tiny XML parts often exceed 100:1, so a member inflating to less than RATIO_FLOOR may pass the
# ratio; but many small members add up, so all the members over the ratio together may inflate to
# at most RATIO_ALLOWANCE (a real .xlsx/.docx has none or a few such parts, a few KB each).
RATIO_FLOOR = 1 << 20
RATIO_ALLOWANCE = 2 << 20
_CHUNK = 1 << 16
_LOCAL_HEADER = 30
_XML_SUFFIXES = (".xml", ".rels", ".vml")

BOMB_DETAIL = ("附件解压后的体积超出安全限制，系统未予读取。"
               "请用 Excel、WPS 或 Word 正常保存登记表后重新发送。")
CORRUPT_DETAIL = "附件已损坏，无法打开。请重新保存登记表（.docx、.xlsx、.doc 或 .xls）后再发送。"
ENCRYPTED_DETAIL = "附件设置了打开密码，系统无法读取。请取消密码后重新发送登记表。"
DTD_DETAIL = ("附件中含有不安全的内容（外部实体声明），系统未予读取。"
              "请用 Excel、WPS 或 Word 重新保存登记表后发送。")


def _bomb(why: str) -> FormUnreadable:
    return FormUnreadable("zip-bomb", BOMB_DETAIL + f"（{why}）")


def _corrupt() -> FormUnreadable:
    return FormUnreadable("corrupt", CORRUPT_DETAIL)


class SafeZip:
    """A zip whose directory passed the checks; members are inflated on demand under one budget."""

    def __init__(self, data: bytes, *, max_uncompressed: int | None = None, max_ratio: int | None = None,
                 budget: FormBudget | None = None):
        if budget is None:  # a zip read on its own: a budget of its own
            defaults = FormLimits()
            budget = FormBudget(FormLimits(max_uncompressed=max_uncompressed or defaults.max_uncompressed,
                                           max_ratio=max_ratio or defaults.max_ratio))
        self._data = data
        self._budget = budget
        self._max_ratio = budget.limits.max_ratio
        self._infos = {info.filename: info
                       for info in _checked_directory(_open(data), budget.inflate_left, self._max_ratio)}
        self._allowance = RATIO_ALLOWANCE  # what over-ratio members may still inflate to

    def names(self) -> list[str]:
        return list(self._infos)

    def read(self, name: str) -> bytes | None:
        """The member's bytes (None when absent); XML carrying a DTD is refused."""
        info = self._infos.get(name)
        if info is None:
            return None
        raw = _raw_member(self._data, info)
        content = _inflate(raw, info, self._budget.inflate_left, self._max_ratio, self._allowance)
        if len(content) > self._max_ratio * max(len(raw), 1):
            self._allowance -= len(content)
        self._budget.spend_inflated(len(content))
        refuse_dtd({name: content})
        return content

    def info(self, name: str) -> zipfile.ZipInfo | None:
        return self._infos.get(name)

    def read_all(self) -> dict[str, bytes]:
        return {name: self.read(name) for name in self._infos}


def read_members(data: bytes, *, max_uncompressed: int | None = None, max_ratio: int | None = None,
                 budget: FormBudget | None = None) -> dict[str, bytes]:
    """Every file of the zip, inflated under the limits; raises FormUnreadable."""
    return SafeZip(data, max_uncompressed=max_uncompressed, max_ratio=max_ratio, budget=budget).read_all()


def checked_workbook(data: bytes, budget: FormBudget | None = None) -> bytes:
    """An .xlsx as a stored zip of checked members, for openpyxl (the ledger import uses it too)."""
    return stored_zip(read_members(data, budget=budget))


def stored_zip(members: dict[str, bytes]) -> bytes:
    """The checked members as an uncompressed zip for openpyxl / python-docx."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def refuse_dtd(members: dict[str, bytes]) -> None:
    """Refuse any XML part that declares a DOCTYPE or entities (entity expansion, XXE)."""
    for name, content in members.items():
        if name.lower().endswith(_XML_SUFFIXES) and _declares_dtd(content):
            raise FormUnreadable("xml-entities", DTD_DETAIL)


def _declares_dtd(content: bytes) -> bool:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:64]:
        content = content.decode("utf-16", errors="ignore").encode("utf-8")
    return b"<!DOCTYPE" in content or b"<!ENTITY" in content


def _open(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise _corrupt() from None


def _checked_directory(archive: zipfile.ZipFile, max_uncompressed: int, max_ratio: int):
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise _bomb("文件数量过多")
    if len({info.filename for info in infos}) != len(infos):
        raise _corrupt()  # duplicate names: which one a reader takes is unspecified
    if sum(info.file_size for info in infos) > max_uncompressed:
        raise _bomb("解压后总大小超限")
    over = [info.file_size for info in infos
            if info.file_size > max_ratio * max(info.compress_size, 1)]
    if any(size > RATIO_FLOOR for size in over) or sum(over) > RATIO_ALLOWANCE:
        raise _bomb("压缩比异常")
    return infos


def _raw_member(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of a member, located through its local header."""
    offset = info.header_offset
    header = data[offset:offset + _LOCAL_HEADER]
    if len(header) < _LOCAL_HEADER or header[:4] != b"PK\x03\x04":
        raise _corrupt()
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = offset + _LOCAL_HEADER + name_len + extra_len
    end = start + info.compress_size
    if end > len(data):
        raise _corrupt()
    return memoryview(data)[start:end]


def _inflate(raw: memoryview, info: zipfile.ZipInfo, budget: int, max_ratio: int,
             allowance: int = RATIO_FLOOR) -> bytes:
    if info.flag_bits & 0x1:
        raise FormUnreadable("encrypted", ENCRYPTED_DETAIL)
    ratio_cap = max(min(RATIO_FLOOR, allowance), max_ratio * max(len(raw), 1))
    cap = min(info.file_size, budget, ratio_cap)
    if info.compress_type == zipfile.ZIP_STORED:
        content = bytes(raw[:cap + 1])
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        content = _deflate(raw, cap + 1)
    else:
        raise _corrupt()  # Office writes only stored and deflated members
    if len(content) > cap:
        raise _bomb(_why_over(len(content), info.file_size, budget))
    if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
        raise _corrupt()
    return content


def _why_over(size: int, declared: int, budget: int) -> str:
    if size > declared:
        return "实际解压大小超过目录声明"
    if size > budget:
        return "解压后总大小超限"
    return "压缩比异常"


def _deflate(raw: memoryview, limit: int) -> bytes:
    """Inflate at most `limit` bytes, counting what is actually produced."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    try:
        for start in range(0, len(raw), _CHUNK):
            chunk = bytes(raw[start:start + _CHUNK])
            while chunk and len(out) < limit:
                out += inflater.decompress(chunk, limit - len(out))
                chunk = inflater.unconsumed_tail
            if len(out) >= limit or inflater.eof:
                return bytes(out)
        out += inflater.flush()
    except zlib.error:
        raise _corrupt() from None
    return bytes(out)
