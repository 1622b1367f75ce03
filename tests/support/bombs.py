"""Small files that would cost a careless reader minutes and gigabytes (used by the form-limit
tests and by the hostile mail corpus, scripts/make_mail_corpus.py)."""

from __future__ import annotations

import io
import zipfile


def shared_string_bomb(rows: int = 2500, cols: int = 60) -> bytes:
    """An .xlsx whose every cell points at one 32 K shared string (compresses to almost nothing)."""
    big = "企" * 32_000
    cells = "".join(f'<c r="{_col(c)}{{r}}" t="s"><v>0</v></c>' for c in range(cols))
    sheet_rows = "".join(f'<row r="{r}">' + cells.replace("{r}", str(r)) + "</row>" for r in range(1, rows + 1))
    return xlsx_package(sheet_rows, f"<si><t>{big}</t></si>")


def xlsx_package(sheet_data: str, shared_items: str | None = None, sheet_head: str = "",
                 cell_formats: list[int] | None = None) -> bytes:
    """A one-sheet .xlsx made by hand, as Excel and WPS lay one out: `sheet_data` is the inside of
    <sheetData>, `shared_items` the <si> items of xl/sharedStrings.xml (none: no such part),
    `sheet_head` what comes before <sheetData> (a <dimension>, say), `cell_formats` the built-in
    number format of each cell style (s="1" is the second; none: no xl/styles.xml)."""
    shared_type = '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    shared_rel = '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    with_shared = shared_items is not None
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        + (shared_type if with_shared else "") + "</Types>",
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        + (shared_rel if with_shared else "") + "</Relationships>",
    }
    if cell_formats is not None:
        files["[Content_Types].xml"] = files["[Content_Types].xml"].replace("</Types>", (
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.styles+xml"/></Types>'))
        files["xl/_rels/workbook.xml.rels"] = files["xl/_rels/workbook.xml.rels"].replace("</Relationships>", (
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'))
        styles = "".join(f'<xf numFmtId="{n}" applyNumberFormat="1"/>' for n in cell_formats)
        files["xl/styles.xml"] = ('<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/'
                                  f'spreadsheetml/2006/main"><cellXfs count="{len(cell_formats)}">{styles}</cellXfs></styleSheet>')
    if with_shared:
        count = shared_items.count("<si>")
        files["xl/sharedStrings.xml"] = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                         f'count="{count}" uniqueCount="{count}">{shared_items}</sst>')
    files["xl/worksheets/sheet1.xml"] = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                         f"{sheet_head}<sheetData>{sheet_data}</sheetData></worksheet>")
    return _zip(files)


def _col(index: int) -> str:
    return chr(65 + index) if index < 26 else chr(64 + index // 26) + chr(65 + index % 26)


def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def empty_paragraphs_docx(count: int) -> bytes:
    """A .docx whose body is `count` empty paragraphs: 6 bytes each inflated, nearly nothing deflated."""
    document = (b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                b'wordprocessingml/2006/main"><w:body>' + b"<w:p/>" * count + b"</w:body></w:document>")
    return _zip({"[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.wordprocessingml.document.main+xml"/></Types>',
                 "word/document.xml": document})


def _zip(files: dict) -> bytes:
    """Deflated, with a fixed date: the same bytes every time (the corpus is committed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 6, 3, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
