"""Limits per mail (security issue, item 4): each input found by an attacker fails fast and stays
within its budget. Every test measures the time (and memory where it mattered) it used to blow."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget, FormLimits
from bot.forms.reader import read_attachment, read_body
from bot.forms.safezip import RATIO_ALLOWANCE, read_members
from tests.support.bombs import empty_paragraphs_docx, shared_string_bomb

FORMS = Path(__file__).parent / "data" / "forms"


class Measured:
    def __enter__(self):
        tracemalloc.start()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def test_a_long_line_of_spaces_is_read_in_linear_time():
    body = "企业名称：乌海市某某公司\n联系人：张三\n联系电话：13904731234\n" + " " * 200_000 + "是\n"
    body += "是否已通过信访渠道反映" + " " * 200_000 + "否\n" + "x" + "\u3000" * 200_000 + "☑\n"
    with Measured() as used:
        form = read_body(body)
    assert used.seconds < 2
    assert form.contact_phone == "13904731234"


def test_spaces_between_a_label_and_checkboxes_stay_linear():
    from bot.forms.labels import split_label

    with Measured() as used:
        for text in ("是否已通过信访渠道反映" + " " * 200_000 + "否", " " * 200_000 + "☑",
                     "a" * 100_000 + " " * 100_000 + "是"):
            split_label(text)
    assert used.seconds < 1


def test_cells_pointing_at_one_long_shared_string_are_capped():
    data = shared_string_bomb()
    assert len(data) < 500_000
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(data, "表.xlsx")
    assert error.value.reason == "over-limits"
    assert used.seconds < 10
    assert used.peak < 200 * 2**20


def test_a_docx_of_millions_of_empty_paragraphs_is_refused_before_parsing():
    data = empty_paragraphs_docx(16_000_000)
    assert len(data) < 1_000_000
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(data, "表.docx", limits=FormLimits(max_ratio=1000))
    assert error.value.reason == "over-limits"
    assert used.seconds < 5
    assert used.peak < 300 * 2**20  # the inflated part itself (96 MB), never a tree of it


def test_many_small_members_over_the_ratio_add_up():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(40):
            archive.writestr(f"xl/part{i}.bin", bytes(900_000))  # each under 1 MiB, each ~1000:1
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_members(buffer.getvalue(), max_uncompressed=100 * 2**20, max_ratio=100)
    assert error.value.reason == "zip-bomb"
    assert used.seconds < 1
    assert 40 * 900_000 > RATIO_ALLOWANCE


def test_one_budget_is_shared_by_every_attachment_of_a_mail():
    data = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    single = FormBudget()
    read_attachment(data, budget=single)
    per_file = single.inflated
    budget = FormBudget(FormLimits(max_uncompressed=per_file * 3 + 100))
    for _ in range(3):
        read_attachment(data, budget=budget)  # three copies fit...
    with pytest.raises(FormUnreadable) as error:
        read_attachment(data, budget=budget)  # ...the fourth does not, though it alone would
    assert error.value.reason in ("over-limits", "zip-bomb")


def test_triage_reads_all_attachments_of_a_mail_on_one_budget(monkeypatch):
    from bot.forms import budget as budget_module
    from bot.intake.read import form_from_attachments
    from bot.message.model import Attachment, InboundMessage

    seen = []
    original = budget_module.FormBudget.spend_inflated

    def spy(self, size):
        seen.append(id(self))
        return original(self, size)

    monkeypatch.setattr(budget_module.FormBudget, "spend_inflated", spy)
    data = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    blank = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()[:100]  # unreadable first attachment
    msg = InboundMessage.__new__(InboundMessage)
    msg.attachments = [Attachment(filename="a.xlsx", content_type="application/zip", data=blank),
                       Attachment(filename="b.docx", content_type="application/zip",
                                  data=(FORMS / "d01_canonical_table.docx").read_bytes()),
                       Attachment(filename="c.xlsx", content_type="application/zip", data=data)]

    class Rules:
        class programme:
            districts = ("海勃湾区", "乌达区", "海南区")
            city = "乌海市"

    form, _att, _notes = form_from_attachments(msg, Rules)
    assert form is not None
    assert len(set(seen)) == 1


def test_a_pdf_bomb_is_refused_within_its_budget():
    import zlib

    stream = zlib.compress(b" " * (300 * 2**20), 9)  # 300 MB of content in ~300 KB
    pdf = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
           b"4 0 obj<</Length " + str(len(stream)).encode() + b"/Filter/FlateDecode>>stream\n"
           + stream + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF")
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(pdf, "表.pdf")
    assert error.value.reason == "over-limits"
    assert used.seconds < 10


def test_a_huge_image_is_refused_from_its_header():
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    rows = zlib.compressobj(9)
    data = b"".join(rows.compress(b"\x00" + bytes(60_000)) for _ in range(200)) + rows.flush()
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(png, "照片.png")
    assert error.value.reason == "over-limits"
    assert used.seconds < 10


def test_a_doc_with_a_corrupt_piece_table_is_corrupt_quickly(tmp_path):
    import olefile

    path = tmp_path / "表.doc"
    path.write_bytes((Path(__file__).parent / "data" / "formats" / "doc_d01_canonical_table.doc").read_bytes())
    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        word = ole.openstream("WordDocument").read()
        table_name = "1Table" if word[0x0B] & 0x02 else "0Table"
        table = bytearray(ole.openstream(table_name).read())
        fc_clx = int.from_bytes(word[0x1A2:0x1A6], "little")
        for offset in range(fc_clx + 5, min(len(table) - 4, fc_clx + 200), 4):
            table[offset:offset + 4] = (0x7FFFFFF0).to_bytes(4, "little")  # CPs and offsets past the end
        ole.write_stream(table_name, bytes(table))
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(path.read_bytes(), "表.doc")
    assert error.value.reason == "corrupt"
    assert used.seconds < 2


def test_a_zip_of_zips_is_refused_without_opening_the_inner_ones():
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("表.xlsx", (FORMS / "x01_canonical_two_col.xlsx").read_bytes())
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(30):
            archive.writestr(f"{i}.zip", inner.getvalue())
    with Measured() as used:
        with pytest.raises(FormUnreadable) as error:
            read_attachment(outer.getvalue(), "表.zip")
    assert error.value.reason == "nested-archive"
    assert used.seconds < 2
