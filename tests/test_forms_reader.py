import io
import zipfile
from pathlib import Path

import pytest

from bot.errors import FormUnreadable
from bot.forms.reader import FormLimits, read_attachment, read_body, read_path
from bot.forms.sniff import OLE_MAGIC

FORMS = Path(__file__).parent / "data" / "forms"
DISTRICTS = ("海勃湾区", "乌达区", "海南区")


def _unreadable(data: bytes, filename: str | None = None) -> FormUnreadable:
    with pytest.raises(FormUnreadable) as error:
        read_attachment(data, filename, districts=DISTRICTS, city="乌海市")
    assert error.value.detail  # always a Chinese sentence for the reply
    return error.value


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (OLE_MAGIC + bytes(504) + "WordDocument".encode("utf-16-le"), "corrupt"),  # a broken .doc
    (OLE_MAGIC + bytes(504) + "Workbook".encode("utf-16-le"), "corrupt"),  # a broken .xls
    (OLE_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le"), "encrypted"),
    (b"%PDF-1.4\n", "corrupt"),
    (b"\x89PNG\r\n\x1a\n" + bytes(32), "corrupt"),
    (b"\xff\xd8\xff\xe1" + bytes(32), "corrupt"),
    (b"{\\rtf1 hello}", "rtf"),
    (b"Rar!\x1a\x07\x00" + bytes(32), "rar"),
])
def test_unreadable_files(data, reason):
    assert _unreadable(data).reason == reason


def test_detail_names_the_attachment_and_asks_for_a_form_file():
    error = _unreadable(b"%PDF-1.4\n", "登记表.pdf")
    assert error.detail.startswith("“登记表.pdf”")
    assert ".xlsx" in error.detail and ".docx" in error.detail


def test_real_encrypted_workbook():
    msoffcrypto = pytest.importorskip("msoffcrypto")
    out = io.BytesIO()
    with open(FORMS / "x01_canonical_two_col.xlsx", "rb") as plain:
        msoffcrypto.OfficeFile(plain).encrypt("secret", out)
    assert _unreadable(out.getvalue(), "登记表.xlsx").reason == "encrypted"


def test_form_in_a_zip_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("说明.txt", "您好，登记表见压缩包。")
        archive.writestr("登记表.xlsx", (FORMS / "x01_canonical_two_col.xlsx").read_bytes())
    form = read_attachment(buffer.getvalue(), "登记表.zip")
    assert form.enterprise_name == "乌海市镕鑫化工有限责任公司"
    assert form.sources["credit_code"].via == "xlsx"


def test_zip_of_zips_is_refused():
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("登记表.xlsx", (FORMS / "x01_canonical_two_col.xlsx").read_bytes())
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
    assert _unreadable(outer.getvalue(), "登记表.zip").reason == "nested-archive"


def test_truncated_workbook_is_corrupt():
    data = (FORMS / "x01_canonical_two_col.xlsx").read_bytes()
    assert _unreadable(data[: len(data) // 2]).reason == "corrupt"


def test_renamed_file_is_read_by_content():
    data = (FORMS / "d01_canonical_table.docx").read_bytes()
    assert read_attachment(data, "登记表.xls").enterprise_name == "乌海市镕鑫化工有限责任公司"


def test_document_without_a_form():
    from docx import Document

    document = Document()
    document.add_paragraph("这是一份企业简介，没有登记表。")
    buffer = io.BytesIO()
    document.save(buffer)
    assert _unreadable(buffer.getvalue()).reason == "no-form"


def test_text_attachment_without_a_form():
    assert _unreadable("您好，附件请查收。".encode()).reason == "no-form"


def test_blank_template_sent_back_is_read_as_blank(tmp_path):
    from bot.forms.blank import write_blank_xlsx

    write_blank_xlsx(tmp_path / "b.xlsx", districts=DISTRICTS, field_names=("能源",))
    assert read_path(tmp_path / "b.xlsx").is_blank()


def test_ten_thousand_rows_are_read_within_the_budgets_and_refused_beyond_them():
    """Bounded by the per-mail budgets, not by a clock: the reading speed is bench/'s to measure."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("数据")
    sheet.append(["企业名称", "乌海市镕鑫化工有限责任公司"])
    sheet.append(["联系人", "李建国"])
    sheet.append(["联系电话", "13904731234"])
    for i in range(10_000):
        sheet.append([f"第{i}行", i, f"备注{i}", i * 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    form = read_attachment(buffer.getvalue(), limits=FormLimits(max_rows=20000))
    assert form.contact_phone == "13904731234"
    capped = read_attachment(buffer.getvalue(), limits=FormLimits(max_rows=3))
    assert capped.enterprise_name == "乌海市镕鑫化工有限责任公司"
    with pytest.raises(FormUnreadable, match="over-limits") as refused:
        read_attachment(buffer.getvalue(), limits=FormLimits(max_cells=1000))
    assert "单元格数量过多" in str(refused.value)


def test_wps_dimension_would_hide_the_form_without_reset():
    """Why xlsx.py resets dimensions: read-only openpyxl stops at the declared A1."""
    from openpyxl import load_workbook

    data = (FORMS / "x10_wps_dimension.xlsx").read_bytes()
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert [row for row in sheet.iter_rows(values_only=True)] == [("企业名称",)]
    assert read_attachment(data).contact_name == "陈晓明"


def test_the_sheet_with_most_labels_wins_even_when_not_first():
    form = read_path(FORMS / "x09_form_on_second_sheet.xlsx")
    assert form.enterprise_name == "内蒙古乌海喆源能源科技有限公司"
    assert form.contact_phone == "0473-8991510"


def test_read_body():
    text = ("您好：\n企业名称：乌海市堃达物流有限公司\n统一社会信用代码：91150302ma0r8d1g4d\n"
            "所属地区：乌海市海勃湾区\n联系电话：138 4731 2345\n基本情况：\n第一段。\n\n第二段。\n"
            "具体请求：协调办理通行证\n是否已通过信访渠道反映：否\n日期：2024年3月12日\n\n张三\n")
    form = read_body(text, districts=DISTRICTS, city="乌海市")
    assert form.credit_code == "91150302MA0R8D1G4D"
    assert form.district == "海勃湾区"
    assert form.contact_phone == "13847312345"
    assert form.facts == "第一段。\n\n第二段。"
    assert form.declarations.petition is False
    assert form.signed_date == "2024-03-12"


def test_read_body_needs_a_few_labels():
    assert read_body("您好，我公司想报名参加接待日，联系电话：13904731234。") is None
    assert read_body("") is None


def test_quoted_text_is_ignored():
    text = "企业名称：甲公司\n联系人：张三\n联系电话：13904731234\n> 企业名称：乙公司\n> 联系人：李四"
    assert read_body(text).enterprise_name == "甲公司"
