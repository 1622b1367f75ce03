"""HTML bodies as text: a form typed in a webmail editor must read like a text/plain one."""

from __future__ import annotations

from bot.message.html import html_to_text, sniff_charset


def test_block_tags_and_br_become_lines():
    html = "<div>企业名称：镕喆</div><div>联系人：王堃<br>电话：0473-1234567</div><p>诉求</p>"
    assert html_to_text(html).split("\n") == ["企业名称：镕喆", "联系人：王堃", "电话：0473-1234567", "诉求"]


def test_indented_source_gives_no_blank_lines():
    html = "<div>\n  <div>企业名称：镕喆</div>\n  <div>联系人：王堃</div>\n</div>\n"
    assert html_to_text(html) == "企业名称：镕喆\n联系人：王堃"


def test_table_cells_become_tabs_rows_become_lines():
    html = "<table><tr><td>企业名称</td><td> 镕喆 </td></tr><tr><th>电话</th><td>0473</td></tr></table>"
    assert html_to_text(html).split("\n") == ["企业名称\t镕喆", "电话\t0473"]


def test_scripts_styles_titles_and_comments_are_not_text():
    html = ("<html><head><title>t</title><style>p{x:y}</style><script>var a=1;</script></head>"
            "<body><!-- c --><p>正文</p><noscript>ns</noscript></body></html>")
    assert html_to_text(html) == "正文"


def test_entities_and_nbsp():
    assert html_to_text("<p>A&amp;B&nbsp;&nbsp;C &lt;x&gt; &#38271;</p>") == "A&B C <x> 长"


def test_source_whitespace_collapses_but_pre_keeps_its_line_breaks():
    assert html_to_text("<p>a\n   b</p><pre>x\n  y</pre>") == "a b\nx\ny"


def test_br_br_is_a_blank_line():
    assert html_to_text("a<br><br>b") == "a\n\nb"


def test_broken_html_still_gives_text():
    assert "企业名称" in html_to_text('<div><p>企业名称<table><tr><td>x<!--> <a href="zz')


def test_meta_charset_is_found():
    assert sniff_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">') == "gb2312"
    assert sniff_charset(b"<meta charset='utf-8'>") == "utf-8"
    assert sniff_charset(b"<p>none</p>") is None
