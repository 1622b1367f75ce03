"""Word specifics: merged cells, content controls, checkbox state."""

import io

from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from bot.forms.blank import checkbox_sdt
from bot.forms.reader import read_attachment


def _save(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _form(rows) -> Document:
    document = Document()
    table = document.add_table(rows=len(rows), cols=2)
    for row, (label, value) in zip(table.rows, rows):
        row.cells[0].text = label
        if isinstance(value, list):
            for element in value:
                row.cells[1].paragraphs[0]._p.append(element)
        else:
            row.cells[1].text = value
    return document


BASE = [("企业名称", "乌海市镕鑫化工有限责任公司"), ("联系人", "李建国"), ("联系电话", "13904731234")]


def _run(text: str):
    return parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve">{text}</w:t></w:r>')


def test_checkbox_state_comes_from_w14_checked_not_the_glyph():
    stale = checkbox_sdt(True)
    stale.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t").text = "☐"
    rows = BASE + [("是否已通过信访渠道反映", [checkbox_sdt(False), _run("是 "), stale, _run("否")])]
    assert read_attachment(_save(_form(rows))).declarations.petition is False


def test_merged_cell_is_read_once():
    document = _form(BASE)
    table = document.tables[0]
    cells = table.add_row().cells
    cells[0].text = "基本情况"
    cells = table.add_row().cells
    merged = cells[0].merge(cells[1])
    merged.text = "反应釜扩能改造受阻。"
    # python-docx itself repeats the merged cell in every column it spans
    assert [c.text for c in table.rows[-1].cells] == ["反应釜扩能改造受阻。"] * 2
    assert read_attachment(_save(document)).facts == "反应釜扩能改造受阻。"


def test_placeholder_text_of_an_empty_content_control_is_empty():
    placeholder = parse_xml(
        f'<w:sdt {nsdecls("w")}><w:sdtPr><w:showingPlcHdr/><w:text/></w:sdtPr><w:sdtContent>'
        '<w:r><w:t>单击或点击此处输入文字。</w:t></w:r></w:sdtContent></w:sdt>')
    rows = BASE + [("职务", [placeholder])]
    assert read_attachment(_save(_form(rows))).contact_title is None


def test_deleted_revision_text_is_not_read():
    deleted = parse_xml(f'<w:del {nsdecls("w")} w:id="1" w:author="a"><w:r><w:delText>旧公司</w:delText>'
                        '</w:r></w:del>')
    rows = [("企业名称", [deleted, _run("乌海市堃达物流有限公司")])] + BASE[1:]
    assert read_attachment(_save(_form(rows))).enterprise_name == "乌海市堃达物流有限公司"


def test_paragraph_form_after_a_title():
    document = Document()
    document.add_paragraph("来访企业预约登记表")
    for line in ["企业名称：乌海市堃达物流有限公司", "联系人：陈晓明", "联系电话：13847312345",
                 "基本情况：", "第一段。", "第二段。", "具体请求：增加通行名额"]:
        document.add_paragraph(line)
    form = read_attachment(_save(document))
    assert form.facts == "第一段。\n第二段。"
    assert form.requests == "增加通行名额"


def test_hostile_grid_span_is_capped():
    document = _form(BASE)
    tc_pr = document.tables[0].rows[0].cells[1]._tc.get_or_add_tcPr()
    tc_pr.append(parse_xml(f'<w:gridSpan {nsdecls("w")} w:val="1000000000"/>'))
    assert read_attachment(_save(document)).enterprise_name == "乌海市镕鑫化工有限责任公司"
