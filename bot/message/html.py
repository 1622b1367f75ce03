"""HTML body -> plain text, so a form typed into a webmail editor reads like a text/plain one.

Webmail (QQ, 163, Outlook web) often sends only HTML; the form reader looks for
`企业名称：…` lines, so block tags become line breaks and table cells tabs.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "title", "noscript", "template", "xml"}  # never visible text
_BLOCK = {
    "p", "div", "tr", "li", "ul", "ol", "table", "tbody", "thead", "tfoot", "blockquote", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt", "dd", "section", "article", "header",
    "footer", "address", "form", "fieldset", "center", "body",
}
_CELL = {"td", "th"}
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0  # depth inside script/style: their text is not content
        self.pre = 0  # inside <pre> whitespace is content

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.chunks.append("\n")  # every <br> counts: <br><br> is a blank line on screen
        elif tag in _CELL:
            self.chunks.append("\t")
        elif tag in _BLOCK:
            self.pre += tag == "pre"
            self._break()

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag not in _SKIP:  # <br/>, <hr/>: one break, not an open+close pair
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.pre = max(0, self.pre - (tag == "pre"))
            self._break()

    def _break(self) -> None:
        """End the current line once: </div><div> is one line break on screen, not two."""
        tail = "".join(self.chunks[-3:]).rstrip(" \t")  # source indentation is not content
        if tail and not tail.endswith("\n"):
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.chunks.append(data if self.pre else re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    """Visible text of an HTML document: tags, scripts and styles gone, entities decoded."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
        text = "".join(collector.chunks)
    except Exception:  # html.parser is lenient, but a hostile document must still give text
        text = re.sub(r"<[^>]*>", " ", html)
    return _tidy(text)


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ")  # &nbsp; is layout, not content
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        cells = [re.sub(r" {2,}", " ", c).strip() for c in line.split("\t")]
        lines.append("\t".join(c for c in cells if c))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sniff_charset(data: bytes) -> str | None:
    """Charset named by a <meta> tag near the top of an HTML part without a MIME charset."""
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None
