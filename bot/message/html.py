"""HTML body -> plain text, so a form typed into a webmail editor reads like a text/plain one.

Webmail (QQ, 163, Outlook web) often sends only HTML; the form reader looks for
`企业名称：…` lines, so block tags become line breaks and table cells tabs.
"""

from __future__ import annotations

import re
from html import unescape

_SKIP = {"script", "style", "title", "noscript", "template", "xml"}  # never visible text
_BLOCK = {
    "p", "div", "tr", "li", "ul", "ol", "table", "tbody", "thead", "tfoot", "blockquote", "pre",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "dl", "dt", "dd", "section", "article", "header",
    "footer", "address", "form", "fieldset", "center", "body",
}
_CELL = {"td", "th"}
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)


MAX_HTML = 2_000_000  # characters converted; a typed form is a few KB, a newsletter a few hundred
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^<>]*?(/?)>")


def html_to_text(html: str) -> str:
    """Visible text of an HTML document: tags, scripts and styles gone, entities decoded.

    A scanner of our own instead of html.parser: the standard parser rescans an unclosed tag on
    every feed, and 300 KB of `<a` took it 86 s. Here every character is looked at a bounded
    number of times: text runs to the next `<`, a tag to its `>` (or, unclosed, is text)."""
    html = (html or "")[:MAX_HTML]
    lower = html.lower()
    out: list[str] = []
    pos, pre, size = 0, 0, len(html)
    while pos < size:
        lt = html.find("<", pos)
        if lt < 0:
            lt = size
        if lt > pos:
            out.append(_data(html[pos:lt], pre))
        if lt >= size:
            break
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            pos = size if end < 0 else end + 3
            continue
        match = _TAG.match(html, lt)
        if match is None:
            if html.startswith(("<!", "<?"), lt):  # a doctype or processing instruction
                end = html.find(">", lt)
                pos = size if end < 0 else end + 1
            else:
                out.append(_data("<", pre))
                pos = lt + 1
            continue
        closing, tag = match.group(1) == "/", match.group(2).lower()
        pos = match.end()
        if tag in _SKIP and not closing and not match.group(3):
            end = lower.find(f"</{tag}", pos)  # invisible content ends at its own closing tag
            pos = size if end < 0 else end
            continue
        if tag == "pre":
            pre = max(0, pre - 1) if closing else pre + 1
        _break_for(tag, closing, out)
    return _tidy("".join(out))


def _data(text: str, pre: int) -> str:
    text = unescape(text)
    return text if pre else re.sub(r"[ \t\r\n\f]+", " ", text)


def _break_for(tag: str, closing: bool, out: list[str]) -> None:
    if tag == "br" and not closing:
        out.append("\n")  # every <br> counts: <br><br> is a blank line on screen
    elif tag in _CELL and not closing:
        out.append("\t")
    elif tag in _BLOCK:
        # End the current line once: </div><div> is one line break on screen, not two.
        tail = "".join(out[-3:]).rstrip(" \t")  # source indentation is not content
        if tail and not tail.endswith("\n"):
            out.append("\n")


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
