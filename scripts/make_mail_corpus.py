#!/usr/bin/env python3
"""Write the golden (tests/data/mail) and hostile (tests/data/hostile) mail corpora.

Every message is assembled from hand-written byte templates in the shape a real
client produces. Python's email package is not used to write them: it would
normalise exactly the quirks (GB2312 labels on GBK text, encoded words inside
quoted parameters, raw 8-bit headers) the parser has to survive.

Expected parse results are written by hand in the case tables below, never
computed by the parser under test.

    .venv/bin/python scripts/make_mail_corpus.py [--out tests/data] [--only golden|hostile]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import quopri
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote_from_bytes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the bomb builders are shared with the tests (tests.support.bombs)
OUR = "qyjd@example.gov.cn"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OCTET = "application/octet-stream"
XLSX_STUB = b"PK\x03\x04stub-xlsx"
DOCX_STUB = b"PK\x03\x04stub-docx"
JPEG_STUB = b"\xff\xd8\xff\xe0\x00\x10JFIFstub-jpeg"
PNG_STUB = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRstub-png"
ZIP_TIME = (2024, 6, 3, 10, 0, 0)

# --- encoding helpers: the client's job, done by hand --------------------------------------------


def B(x: str | bytes) -> bytes:
    """Template text to bytes; templates are ASCII so no Python codec can sneak in."""
    return x if isinstance(x, bytes) else x.encode("ascii")


def eml(*chunks: str | bytes) -> bytes:
    """Join template chunks and use CRLF line ends, as every client sends over SMTP."""
    raw = b"".join(B(c) for c in chunks)
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def crlf_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def b64_lines(data: bytes, width: int = 76) -> str:
    enc = base64.b64encode(data).decode("ascii")
    return "\n".join(enc[i:i + width] for i in range(0, len(enc), width))


def bword(text: str, codec: str, label: str) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec)).decode('ascii')}?="


def bwords_split(data: bytes, label: str, size: int) -> list[str]:
    """Encoded words cut every `size` bytes, so characters straddle words (as long names get)."""
    return [f"=?{label}?B?{base64.b64encode(data[i:i + size]).decode('ascii')}?="
            for i in range(0, len(data), size)]


def qword(data: bytes, label: str) -> str:
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
    body = "".join(chr(b) if b in safe else f"={b:02X}" for b in data)
    return f"=?{label}?Q?{body}?="


def qp_body(text: str, codec: str) -> str:
    return quopri.encodestring(crlf_text(text).encode(codec)).decode("ascii").replace("\r\n", "\n")


def pct(data: bytes) -> str:
    return quote_from_bytes(data, safe="")


def multipart(boundary: str, parts: list[str | bytes], preamble: str = "") -> bytes:
    out = [B(preamble)]
    for part in parts:
        out += [B(f"--{boundary}\n"), B(part), b"\n"]
    out.append(B(f"--{boundary}--\n"))
    return b"".join(out)


def part(headers: str, body: str | bytes) -> bytes:
    return B(headers.strip("\n") + "\n\n") + B(body)


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


# --- golden clients ---------------------------------------------------------------------------


@dataclass
class Att:
    filename: str
    data: bytes
    content_type: str = OCTET


def foxmail(*, msgid: str, from_name: str, from_addr: str, subject: str, body: str,
            atts: list[Att], html: str | None = None) -> bytes:
    """Foxmail 7.2: GB2312 label on GBK bytes; names as one B word inside quotes."""
    b1, b2 = "----=_001_NextPart575676200741_=----", "----=_002_NextPart575676200741_=----"
    text = part('Content-Type: text/plain;\n\tcharset="GB2312"\nContent-Transfer-Encoding: base64',
                b64_lines(crlf_text(body).encode("gbk")))
    if html is not None:
        html_part = part('Content-Type: text/html;\n\tcharset="GB2312"\nContent-Transfer-Encoding: quoted-printable',
                         qp_body(html, "gbk"))
        text = part(f'Content-Type: multipart/alternative;\n\tboundary="{b2}"', multipart(b2, [text, html_part]))
    parts = [text] + [part(
        f'Content-Type: {a.content_type};\n\tname="{bword(a.filename, "gbk", "GB2312")}"\n'
        f'Content-Transfer-Encoding: base64\nContent-Disposition: attachment;\n'
        f'\tfilename="{bword(a.filename, "gbk", "GB2312")}"', b64_lines(a.data)) for a in atts]
    head = (f"Date: Mon, 3 Jun 2024 10:30:15 +0800\n"
            f'From: "{bword(from_name, "gbk", "GB2312")}" <{from_addr}>\n'
            f'To: "qyjd" <{OUR}>\nSubject: {bword(subject, "gbk", "GB2312")}\n'
            f"X-Priority: 3\nX-Has-Attach: yes\nX-Mailer: Foxmail 7.2.25.254[cn]\nMime-Version: 1.0\n"
            f"Message-ID: <{msgid}>\nContent-Type: multipart/mixed;\n\tboundary=\"{b1}\"\n\n")
    return eml(head, multipart(b1, parts, "This is a multi-part message in MIME format.\n\n"))


def qqmail(*, msgid: str, from_name: str, from_addr: str, subject: str, body: str,
           atts: list[Att], labelled: bool = True) -> bytes:
    """QQ Mail: gb18030 everywhere, 8Bit at the top, a charset even on attachments."""
    b1, b2 = "----=_NextPart_5FFBEAAB_10302518_241C259A", "----=_NextPart_5FFBEAAB_10302518_5F1B3C2D"
    html = "<div>" + "</div><div>".join(body.split("\n")) + "</div>"
    alt = multipart(b2, [
        part('Content-Type: text/plain; charset="gb18030"\nContent-Transfer-Encoding: base64',
             b64_lines(crlf_text(body).encode("gb18030"))),
        part('Content-Type: text/html; charset="gb18030"\nContent-Transfer-Encoding: base64',
             b64_lines(html.encode("gb18030"))),
    ])
    parts = [part(f'Content-Type: multipart/alternative;\n\tboundary="{b2}"', alt)]
    for a in atts:
        name = bword(a.filename, "gb18030", "gb18030") if labelled else a.filename
        parts.append(part(f'Content-Type: {a.content_type}; charset="gb18030";\n\tname="{name}"\n'
                          f'Content-Disposition: attachment;\n\tfilename="{name}"\n'
                          f"Content-Transfer-Encoding: base64", b64_lines(a.data)))
    head = (f'From: "{bword(from_name, "gb18030", "gb18030")}" <{from_addr}>\n'
            f'To: "=?gb18030?B?xvPStb3TtP0=?=" <{OUR}>\n'
            f"Subject: {bword(subject, 'gb18030', 'gb18030')}\nMime-Version: 1.0\n"
            f"Content-Type: multipart/mixed;\n\tboundary=\"{b1}\"\nContent-Transfer-Encoding: 8Bit\n"
            f"Date: Mon, 3 Jun 2024 11:02:41 +0800\nX-Priority: 3\nMessage-ID: <{msgid}>\n"
            f"X-QQ-MIME: TCMime 1.0 by Tencent\nX-Mailer: QQMail 2.x\nX-QQ-Mailer: QQMail 2.x\n\n")
    return eml(head, multipart(b1, parts))


def coremail(*, msgid: str, from_name: str, from_addr: str, subject: str, body: str,
             att: Att | None, split_at: int = 0, html_only: str | None = None) -> bytes:
    """Coremail (163/126): GBK; long names as Q words cut at a byte, not a character."""
    b1, b2 = "----=_Part_278612_1650318223.1717383115227", "----=_Part_278613_1180431297.1717383115227"
    head = (f"Date: Mon, 3 Jun 2024 10:51:55 +0800 (CST)\n"
            f'From: "{bword(from_name, "gbk", "GBK")}" <{from_addr}>\nTo: {OUR}\n'
            f"Message-ID: <{msgid}>\nSubject: {bword(subject, 'gbk', 'GBK')}\nMIME-Version: 1.0\n"
            "X-Mailer: Coremail Webmail Server Version XT5.0.14 build 20240801(9da12a7b)\n"
            " Copyright (c) 2002-2024 www.mailtech.cn 163com\nX-Coremail-Locale: zh_CN\n"
            "X-CM-TRANSID:_____wD3n6q7L11mN0YBAA--.12345S2\n")
    if html_only is not None:
        return eml(head, "Content-Type: text/html; charset=GBK\nContent-Transfer-Encoding: quoted-printable\n\n",
                   qp_body(html_only, "gbk"), "\n")
    html = "<div style=\"line-height:1.7;\">" + "<br>".join(body.split("\n")) + "</div>"
    alt = multipart(b2, [
        part("Content-Type: text/plain; charset=GBK\nContent-Transfer-Encoding: base64",
             b64_lines(crlf_text(body).encode("gbk"))),
        part("Content-Type: text/html; charset=GBK\nContent-Transfer-Encoding: base64",
             b64_lines(html.encode("gbk"))),
    ])
    parts = [part(f'Content-Type: multipart/alternative; \n\tboundary="{b2}"', alt)]
    if att:
        raw = att.filename.encode("gbk")
        words = f"{qword(raw[:split_at], 'GBK')}\n {qword(raw[split_at:], 'GBK')}"
        parts.append(part(f'Content-Type: {att.content_type}; \n\tname="{words}"\n'
                          "Content-Transfer-Encoding: base64\nContent-Disposition: attachment", b64_lines(att.data)))
    return eml(head, f'Content-Type: multipart/mixed; \n\tboundary="{b1}"\n\n', multipart(b1, parts))


def outlook(*, msgid: str, from_name: str, from_addr: str, subject: str, body: str,
            att: Att, charset: str = "gb2312", name_words: list[str] | None = None) -> bytes:
    """Outlook 16: multipart/alternative + attachment (no winmail.dat), Thread-Index, size= params."""
    codec = "gbk" if charset == "gb2312" else charset
    tag = "TYZPR06MB626304C1A8E1F4C7B2D8A1E3B5F6A7B8"
    b1, b2 = f"_004_{tag}_", f"_000_{tag}_"
    html = ("<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head><meta http-equiv=\"Content-Type\" "
            f"content=\"text/html; charset={charset}\"><style><!-- p.MsoNormal {{margin:0cm;}} --></style></head>"
            "<body lang=\"ZH-CN\"><div class=\"WordSection1\">"
            + "".join(f"<p class=\"MsoNormal\">{line}<o:p></o:p></p>" for line in body.split("\n"))
            + "</div></body></html>")
    alt = multipart(b2, [
        part(f'Content-Type: text/plain; charset="{charset}"\nContent-Transfer-Encoding: quoted-printable',
             qp_body(body, codec)),
        part(f'Content-Type: text/html; charset="{charset}"\nContent-Transfer-Encoding: quoted-printable',
             qp_body(html, codec)),
    ])
    name = "\n\t".join(name_words) if name_words else bword(att.filename, codec, charset)
    attachment = part(
        f'Content-Type: {att.content_type};\n\tname="{name}"\nContent-Description: {bword(att.filename, codec, charset)}\n'
        f'Content-Disposition: attachment;\n\tfilename="{name}"; size={len(att.data)};\n'
        '\tcreation-date="Mon, 03 Jun 2024 02:29:50 GMT";\n\tmodification-date="Mon, 03 Jun 2024 02:30:15 GMT"\n'
        "Content-Transfer-Encoding: base64", b64_lines(att.data))
    head = (f"From: {bword(from_name, codec, charset)} <{from_addr}>\nTo: \"{OUR}\" <{OUR}>\n"
            f"Subject: {bword(subject, codec, charset)}\nThread-Topic: {bword(subject, codec, charset)}\n"
            "Thread-Index: AdqfMkQnUu3pX2o9QjGm0fL8sVxK1w==\nDate: Mon, 3 Jun 2024 02:30:15 +0000\n"
            f"Message-ID: <{msgid}>\nAccept-Language: zh-CN, en-US\nContent-Language: zh-CN\n"
            "X-MS-Has-Attach: yes\nX-MS-TNEF-Correlator:\n"
            f'Content-Type: multipart/mixed;\n\tboundary="{b1}"\nMIME-Version: 1.0\n\n')
    return eml(head, multipart(b1, [part(f'Content-Type: multipart/alternative;\n\tboundary="{b2}"', alt),
                                    attachment]))


def applemail(*, msgid: str, from_name: str, from_addr: str, subject: str, before: str, after: str,
              atts: list[tuple[Att, str]]) -> bytes:
    """Apple Mail: QP utf-8 text split around attachments; RFC 2231 filename*, Q word in name=."""
    b1 = "Apple-Mail=_8D3C0F7E-1A2B-4C5D-9E8F-0A1B2C3D4E5F"
    text = ("Content-Transfer-Encoding: quoted-printable\nContent-Type: text/plain;\n\tcharset=utf-8")
    parts = [part(text, qp_body(before, "utf-8"))]
    parts += [part(f"{disposition}\nContent-Type: {a.content_type};\n\tx-unix-mode=0644;\n"
                   f'\tname="{qword(a.filename.encode("utf-8"), "utf-8")}"\nContent-Transfer-Encoding: base64',
                   b64_lines(a.data)) for a, disposition in atts]
    parts.append(part(text, qp_body(after, "utf-8")))
    head = (f'Content-Type: multipart/mixed;\n\tboundary="{b1}"\n'
            "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))\n"
            f"Subject: {bword(subject, 'utf-8', 'utf-8')}\nFrom: {bword(from_name, 'utf-8', 'utf-8')} <{from_addr}>\n"
            f"Date: Mon, 3 Jun 2024 10:30:15 +0800\nMessage-Id: <{msgid}>\nTo: {OUR}\n"
            "X-Mailer: Apple Mail (2.3774.600.62)\n\n")
    return eml(head, multipart(b1, parts))


def rfc2231_disposition(name: str, cut: int = 0) -> str:
    """filename*=utf-8''… in one piece, or continued every `cut` percent-escapes (mid-character)."""
    escapes = pct(name.encode("utf-8"))
    if not cut:
        return f"Content-Disposition: attachment;\n\tfilename*=utf-8''{escapes}"
    tokens = re.findall(r"%[0-9A-F]{2}|.", escapes)  # one token per byte
    chunks = ["".join(tokens[i:i + cut]) for i in range(0, len(tokens), cut)]
    lines = [f"\tfilename*{i}*={'utf-8' + chr(39) * 2 if i == 0 else ''}{c}" for i, c in enumerate(chunks)]
    return "Content-Disposition: attachment;\n" + ";\n".join(lines)


def webmail_html(*, from_name: str, from_addr: str, subject: str, html: str) -> bytes:
    """Sina-style webmail: HTML only, UTF-8 base64, and no Message-ID (the server adds none)."""
    head = (f'From: "{bword(from_name, "utf-8", "UTF-8")}" <{from_addr}>\nTo: {OUR}\n'
            f"Subject: {bword(subject, 'utf-8', 'UTF-8')}\nDate: Mon, 03 Jun 2024 09:12:33 +0800\n"
            "MIME-Version: 1.0\nX-Mailer: Sina WebMail 4.0\nX-Priority: 3\n"
            "Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n")
    return eml(head, b64_lines(html.encode("utf-8")), "\n")


def raw8bit(*, from_name: str, from_addr: str, subject: str, body: str, att: Att) -> bytes:
    """An old webmail (263, Sina) writing raw GBK bytes into headers, no encoding at all."""
    g = lambda s: s.encode("gbk")  # noqa: E731 - the point is raw bytes in the header
    return eml(b"From: \"", g(from_name), B(f"\" <{from_addr}>\nTo: {OUR}\nSubject: "), g(subject),
               B("\nDate: Mon, 3 Jun 2024 10:30:15 +0800\nMessage-ID: <20240603103015.263.cz@263.net>\n"
                 "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=_263_NextPart_0001\"\n\n"),
               multipart("=_263_NextPart_0001", [
                   part("Content-Type: text/plain; charset=GBK\nContent-Transfer-Encoding: 8bit",
                        crlf_text(body).encode("gbk")),
                   B(f"Content-Type: {att.content_type}; name=\"") + g(att.filename) + B(
                       "\"\nContent-Disposition: attachment; filename=\"") + g(att.filename)
                   + B(f"\"\nContent-Transfer-Encoding: base64\n\n{b64_lines(att.data)}"),
               ]))


def outlook_forward(*, outer_body: str, inner: bytes, inner_subject: str) -> bytes:
    """Outlook "forward as attachment": the original mail travels as message/rfc822."""
    b1 = "_005_SEZPR06MB5863A0B1C2D3E4F5_"
    return eml(
        f"From: {bword('郑喆', 'gbk', 'gb2312')} <zhengzhe@wuhai-rongzhe.com>\nTo: {OUR}\n"
        f"Subject: {bword('转发: ' + inner_subject, 'gbk', 'gb2312')}\nDate: Tue, 4 Jun 2024 01:15:00 +0000\n"
        "Message-ID: <SEZPR06MB5863A0B1C2D3E4F5A6B7C8D9E0F1@SEZPR06MB5863.apcprd06.prod.outlook.com>\n"
        f'X-MS-Has-Attach: yes\nContent-Type: multipart/mixed;\n\tboundary="{b1}"\nMIME-Version: 1.0\n\n',
        multipart(b1, [
            part('Content-Type: text/plain; charset="gb2312"\nContent-Transfer-Encoding: base64',
                 b64_lines(crlf_text(outer_body).encode("gbk"))),
            part(f'Content-Type: message/rfc822\nContent-Disposition: attachment;\n'
                 f'\tfilename="{bword(inner_subject + ".eml", "gbk", "gb2312")}"', inner.replace(b"\r\n", b"\n")),
        ]))


# --- golden case table: expectations written by hand ------------------------------------------


@dataclass
class Golden:
    name: str
    build: Callable[[], bytes]
    expect: dict


def _golden() -> list[Golden]:
    body1 = "您好：\n附件为乌海镕喆科技有限公司的来访企业预约登记表，请查收。\n联系人：王堃 0473-1234567\n"
    fwd_inner = foxmail(msgid="202406021745331234567@wuhai-rongzhe.cn", from_name="王堃",
                        from_addr="wangkun@wuhai-rongzhe.cn", subject="来访企业预约登记表",
                        body="附件是登记表。\n王堃 0473-1234567", atts=[Att("来访企业预约登记表-镕喆.xlsx", XLSX_STUB)])
    form_html = (
        "<html><head><style>div{font-size:14px} .x{color:red}</style>"
        "<script>alert('x')</script></head><body>"
        "<div>您好，表格附件发不出去，登记内容直接写在正文里：</div>"
        "<div>企业名称：阿拉善盟昇华化工有限公司</div>"
        "<div>统一社会信用代码：91152900MA0N1B2C3D</div>"
        "<div>联系人：冯昇&nbsp;&nbsp;总经理</div>"
        "<div>联系电话：0483-8881234<br></div>"
        "<div>诉求事项：园区供热管网改造&amp;用气保障</div>"
        "<p>--<br>发自新浪邮箱</p></body></html>")
    table_html = (
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=GBK\">"
        "<style>td{border:1px solid #ccc;padding:2px}</style></head><body>"
        "<p>您好，登记表内容如下：</p><table>"
        "<tr><td>企业名称</td><td>乌海镕喆科技有限公司</td></tr>"
        "<tr><td>经营范围</td><td>研发&amp;生产</td></tr>"
        "<tr><td>联系人</td><td>周堃</td></tr>"
        "<tr><td>联系电话</td><td>0473-1234567</td></tr>"
        "<tr><td>诉求事项</td><td>厂区道路报修</td></tr>"
        "</table></body></html>")
    long_docx = "内蒙古自治区乌海市海勃湾区镕喆新材料科技有限公司来访企业预约登记表（2024年第二季度接待日）.docx"
    return [
        Golden("foxmail_gb2312_xlsx", lambda: foxmail(
            msgid="202406031030157356521@wuhai-rongzhe.cn", from_name="王堃",
            from_addr="WangKun@Wuhai-Rongzhe.cn", subject="来访企业预约登记表（乌海镕喆科技）", body=body1,
            atts=[Att("来访企业预约登记表-乌海镕喆科技.xlsx", XLSX_STUB)]), {
            "message_id": "202406031030157356521@wuhai-rongzhe.cn", "from_addr": "wangkun@wuhai-rongzhe.cn",
            "from_name": "王堃", "subject": "来访企业预约登记表（乌海镕喆科技）",
            "attachments": [{"filename": "来访企业预约登记表-乌海镕喆科技.xlsx", "content_type": OCTET,
                             "size": len(XLSX_STUB)}],
            "body_contains": ["乌海镕喆科技有限公司", "联系人：王堃 0473-1234567"]}),
        Golden("foxmail_alternative_docx", lambda: foxmail(
            msgid="202406031112459871234@baotou-junyue.com", from_name="李琤",
            from_addr="lizheng@baotou-junyue.com", subject="预约登记-包头市珺玥商贸有限公司",
            body="领导好：\n我司包头市珺玥商贸有限公司申请参加接待日，登记表见附件。\n联系电话：0472-5551234",
            html="<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=GB2312\"></head>"
                 "<body><div>领导好：</div><div>我司包头市珺玥商贸有限公司申请参加接待日。</div></body></html>",
            atts=[Att("来访企业预约登记表（珺玥商贸）.docx", DOCX_STUB)]), {
            "message_id": "202406031112459871234@baotou-junyue.com", "from_addr": "lizheng@baotou-junyue.com",
            "from_name": "李琤", "subject": "预约登记-包头市珺玥商贸有限公司",
            "attachments": [{"filename": "来访企业预约登记表（珺玥商贸）.docx", "content_type": OCTET,
                             "size": len(DOCX_STUB)}],
            "body_contains": ["包头市珺玥商贸有限公司申请参加接待日", "联系电话：0472-5551234"]}),
        Golden("qqmail_gb18030_docx", lambda: qqmail(
            msgid="tencent_5E3A9C1D2B4F6A8E0C7D9B1A3F5E7C9D2A08@qq.com", from_name="赵烜",
            from_addr="1234567890@qq.com", subject="来访预约：鄂尔多斯市烜赫能源有限公司",
            body="您好！\n附件是鄂尔多斯市烜赫能源有限公司的登记表。\n赵烜 0477-8512345",
            atts=[Att("登记表-烜赫能源.docx", DOCX_STUB)]), {
            "message_id": "tencent_5E3A9C1D2B4F6A8E0C7D9B1A3F5E7C9D2A08@qq.com", "from_addr": "1234567890@qq.com",
            "from_name": "赵烜", "subject": "来访预约：鄂尔多斯市烜赫能源有限公司",
            "attachments": [{"filename": "登记表-烜赫能源.docx", "content_type": OCTET, "size": len(DOCX_STUB)}],
            "body_contains": ["鄂尔多斯市烜赫能源有限公司的登记表", "赵烜 0477-8512345"]}),
        Golden("qqmail_tcmime_bin", lambda: qqmail(
            msgid="tencent_1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E08@qq.com", from_name="钱堃",
            from_addr="987654321@qq.com", subject="登记表（手机QQ邮箱转发）",
            body="登记表在附件，手机发的。\n钱堃 13904731234", labelled=False,
            atts=[Att("tcmime.1837.1841.1799.bin", XLSX_STUB)]), {
            "message_id": "tencent_1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E08@qq.com", "from_addr": "987654321@qq.com",
            "from_name": "钱堃", "subject": "登记表（手机QQ邮箱转发）",
            "attachments": [{"filename": "tcmime.1837.1841.1799.bin", "content_type": OCTET,
                             "size": len(XLSX_STUB)}],
            "body_contains": ["钱堃 13904731234"]}),
        Golden("coremail163_split_word", lambda: coremail(
            msgid="5f2a8e1c.1a2b.18fd3c2e4a1.Coremail.sunzhe2024@163.com", from_name="孙喆",
            from_addr="sunzhe2024@163.com", subject="来访企业预约登记表",
            body="您好：附件为乌海镕喆科技有限公司的预约登记表。\n孙喆 0473-7654321",
            att=Att("乌海镕喆科技-预约登记表.xlsx", XLSX_STUB, XLSX_MIME), split_at=7), {
            "message_id": "5f2a8e1c.1a2b.18fd3c2e4a1.Coremail.sunzhe2024@163.com", "from_addr": "sunzhe2024@163.com",
            "from_name": "孙喆", "subject": "来访企业预约登记表",
            "attachments": [{"filename": "乌海镕喆科技-预约登记表.xlsx", "content_type": XLSX_MIME,
                             "size": len(XLSX_STUB)}],
            "body_contains": ["乌海镕喆科技有限公司的预约登记表", "孙喆 0473-7654321"]}),
        Golden("coremail126_html_table_form", lambda: coremail(
            msgid="3c1d9e2f.4b5a.18fd3c9a7b2.Coremail.zhoukun@126.com", from_name="周堃",
            from_addr="zhoukun@126.com", subject="来访预约登记（表格在正文）", body="", att=None,
            html_only=table_html), {
            "message_id": "3c1d9e2f.4b5a.18fd3c9a7b2.Coremail.zhoukun@126.com", "from_addr": "zhoukun@126.com",
            "from_name": "周堃", "subject": "来访预约登记（表格在正文）", "attachments": [],
            "body_contains": ["企业名称\t乌海镕喆科技有限公司", "经营范围\t研发&生产", "联系人\t周堃",
                              "联系电话\t0473-1234567", "诉求事项\t厂区道路报修"],
            "body_excludes": ["border:1px", "<td>"]}),
        Golden("outlook_alt_gb2312_qp", lambda: outlook(
            msgid="TYZPR06MB626304C1A8E1F4C7B2D8A1E3B5F6A7B8@TYZPR06MB6263.apcprd06.prod.outlook.com",
            from_name="吴喆", from_addr="wuzhe@wuhai-rongzhe.com", subject="来访企业预约登记表-乌海镕喆科技",
            body="您好，\n随信附上乌海镕喆科技有限公司的来访企业预约登记表。\n吴喆\n电话：0473-1234567",
            att=Att("来访企业预约登记表-乌海镕喆科技.xlsx", XLSX_STUB, XLSX_MIME)), {
            "message_id": "TYZPR06MB626304C1A8E1F4C7B2D8A1E3B5F6A7B8@TYZPR06MB6263.apcprd06.prod.outlook.com",
            "from_addr": "wuzhe@wuhai-rongzhe.com", "from_name": "吴喆", "subject": "来访企业预约登记表-乌海镕喆科技",
            "attachments": [{"filename": "来访企业预约登记表-乌海镕喆科技.xlsx", "content_type": XLSX_MIME,
                             "size": len(XLSX_STUB)}],
            "body_contains": ["乌海镕喆科技有限公司的来访企业预约登记表", "电话：0473-1234567"],
            "body_excludes": ["MsoNormal"]}),
        Golden("outlook_utf8_long_name", lambda: outlook(
            msgid="SEZPR06MB69571B2C3D4E5F6A7B8C9D0E1F2A3B4C@SEZPR06MB6957.apcprd06.prod.outlook.com",
            from_name="郑堃", from_addr="zhengkun@nmg-rongzhe.com", subject="接待日预约登记（镕喆新材料）",
            body="您好：\n附件为我司来访企业预约登记表，请审核。\n郑堃 0473-3987654", charset="utf-8",
            att=Att(long_docx, DOCX_STUB, DOCX_MIME),
            name_words=bwords_split(long_docx.encode("utf-8"), "utf-8", 40)), {
            "message_id": "SEZPR06MB69571B2C3D4E5F6A7B8C9D0E1F2A3B4C@SEZPR06MB6957.apcprd06.prod.outlook.com",
            "from_addr": "zhengkun@nmg-rongzhe.com", "from_name": "郑堃", "subject": "接待日预约登记（镕喆新材料）",
            "attachments": [{"filename": long_docx, "content_type": DOCX_MIME, "size": len(DOCX_STUB)}],
            "body_contains": ["附件为我司来访企业预约登记表", "郑堃 0473-3987654"]}),
        Golden("applemail_rfc2231_qp", lambda: applemail(
            msgid="8F2E4B1C-3D5A-4E6F-8A9B-0C1D2E3F4A5B@icloud.com", from_name="钱玥",
            from_addr="qianyue@icloud.com", subject="来访企业预约登记",
            before="您好：\n附件是我司（乌海镕喆科技有限公司）的登记表。\n\n",
            after="\n联系人：钱玥 0473-1234567\n发自我的 Mac",
            atts=[(Att("预约登记表-镕喆.xlsx", XLSX_STUB, XLSX_MIME), rfc2231_disposition("预约登记表-镕喆.xlsx"))]), {
            "message_id": "8F2E4B1C-3D5A-4E6F-8A9B-0C1D2E3F4A5B@icloud.com", "from_addr": "qianyue@icloud.com",
            "from_name": "钱玥", "subject": "来访企业预约登记",
            "attachments": [{"filename": "预约登记表-镕喆.xlsx", "content_type": XLSX_MIME, "size": len(XLSX_STUB)}],
            "body_contains": ["我司（乌海镕喆科技有限公司）的登记表", "联系人：钱玥 0473-1234567"]}),
        Golden("applemail_2231_continuation", lambda: applemail(
            msgid="1C2D3E4F-5A6B-4C7D-8E9F-A0B1C2D3E4F5@me.com", from_name="孙珺",
            from_addr="sunjun@me.com", subject="登记表和营业执照截图",
            before="您好，登记表和营业执照截图见附件。\n\n", after="\n孙珺 0473-2223334",
            atts=[(Att("来访企业预约登记表-乌海市珺琤环保科技有限公司.docx", DOCX_STUB, DOCX_MIME),
                   rfc2231_disposition("来访企业预约登记表-乌海市珺琤环保科技有限公司.docx", cut=10)),
                  (Att("营业执照截图.png", PNG_STUB, "image/png"), rfc2231_disposition("营业执照截图.png"))]), {
            "message_id": "1C2D3E4F-5A6B-4C7D-8E9F-A0B1C2D3E4F5@me.com", "from_addr": "sunjun@me.com",
            "from_name": "孙珺", "subject": "登记表和营业执照截图",
            "attachments": [{"filename": "来访企业预约登记表-乌海市珺琤环保科技有限公司.docx", "content_type": DOCX_MIME,
                             "size": len(DOCX_STUB)},
                            {"filename": "营业执照截图.png", "content_type": "image/png", "size": len(PNG_STUB)}],
            "body_contains": ["登记表和营业执照截图见附件", "孙珺 0473-2223334"]}),
        Golden("webmail_sina_html_form", lambda: webmail_html(
            from_name="冯昇", from_addr="fengsheng@sina.com", subject="来访企业预约登记（正文填写）", html=form_html), {
            "message_id": None, "from_addr": "fengsheng@sina.com", "from_name": "冯昇",
            "subject": "来访企业预约登记（正文填写）", "attachments": [],
            "body_contains": ["企业名称：阿拉善盟昇华化工有限公司", "统一社会信用代码：91152900MA0N1B2C3D",
                              "联系人：冯昇 总经理", "联系电话：0483-8881234", "诉求事项：园区供热管网改造&用气保障"],
            "body_excludes": ["alert(", "font-size", "<div>"]}),
        Golden("raw8bit_gbk_263", lambda: raw8bit(
            from_name="陈喆", from_addr="chenzhe@263.net", subject="来访企业预约登记表-陈喆",
            body="您好：\n附件为喆联科技的登记表。\n陈喆 0473-6660001",
            att=Att("喆联科技登记表.xlsx", XLSX_STUB)), {
            "message_id": "20240603103015.263.cz@263.net", "from_addr": "chenzhe@263.net", "from_name": "陈喆",
            "subject": "来访企业预约登记表-陈喆",
            "attachments": [{"filename": "喆联科技登记表.xlsx", "content_type": OCTET, "size": len(XLSX_STUB)}],
            "body_contains": ["附件为喆联科技的登记表", "陈喆 0473-6660001"]}),
        Golden("outlook_forward_rfc822", lambda: outlook_forward(
            outer_body="请查收转发的登记邮件（原件在附件中）。\n郑喆", inner=fwd_inner, inner_subject="来访企业预约登记表"), {
            "message_id": "SEZPR06MB5863A0B1C2D3E4F5A6B7C8D9E0F1@SEZPR06MB5863.apcprd06.prod.outlook.com",
            "from_addr": "zhengzhe@wuhai-rongzhe.com", "from_name": "郑喆", "subject": "转发: 来访企业预约登记表",
            "attachments": [{"filename": "来访企业预约登记表-镕喆.xlsx", "content_type": OCTET, "size": len(XLSX_STUB)}],
            "body_contains": ["请查收转发的登记邮件"], "body_excludes": ["附件是登记表"]}),
        Golden("foxmail_two_attachments", lambda: foxmail(
            msgid="202406041420112233445@wuhai-kunyuan.cn", from_name="刘堃",
            from_addr="liukun@wuhai-kunyuan.cn", subject="登记表及营业执照（乌海市堃元物流有限公司）",
            body="您好：\n登记表和营业执照照片见附件。\n乌海市堃元物流有限公司 刘堃 0473-5558888\n",
            atts=[Att("来访企业预约登记表-堃元物流.xlsx", XLSX_STUB), Att("营业执照-堃元物流.jpg", JPEG_STUB)]), {
            "message_id": "202406041420112233445@wuhai-kunyuan.cn", "from_addr": "liukun@wuhai-kunyuan.cn",
            "from_name": "刘堃", "subject": "登记表及营业执照（乌海市堃元物流有限公司）",
            "attachments": [{"filename": "来访企业预约登记表-堃元物流.xlsx", "content_type": OCTET, "size": len(XLSX_STUB)},
                            {"filename": "营业执照-堃元物流.jpg", "content_type": OCTET, "size": len(JPEG_STUB)}],
            "body_contains": ["乌海市堃元物流有限公司 刘堃 0473-5558888"]}),
    ]


def write_golden(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    cases = _golden()
    for case in cases:
        (out / f"{case.name}.eml").write_bytes(case.build())
        (out / f"{case.name}.json").write_text(json.dumps(case.expect, ensure_ascii=False, indent=2) + "\n",
                                               encoding="utf-8")
    return len(cases)


# --- hostile payload files -------------------------------------------------------------------


def zip_bomb() -> bytes:
    """200 MB of zeros deflated (~200 KB) in an .xlsx-shaped zip, written in 1 MB steps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("[Content_Types].xml", ZIP_TIME), b"<Types/>")
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(200):
                member.write(chunk)
    return buf.getvalue()


def billion_laughs_docx() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    doc = (f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    return zip_bytes([("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
                      ("word/document.xml", doc.encode("utf-8"))])


def ole(stream_names: list[str]) -> bytes:
    """An OLE2 compound-file lookalike: the magic, a header, and directory entry names."""
    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header += bytes(512 - len(header))
    entries = b"".join(n.encode("utf-16-le").ljust(64, b"\x00") + bytes(64) for n in stream_names)
    return header + entries + bytes(1024)


def xlsx_rows(rows: int) -> bytes:
    """A minimal real workbook with `rows` rows, for the row limit of the form reader."""
    sheet = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>第{r}行</t></is></c></row>'
                    for r in range(1, rows + 1))
    ns = "http://schemas.openxmlformats.org/"
    return zip_bytes([
        ("[Content_Types].xml", f'<Types xmlns="{ns}package/2006/content-types">'
         f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         f'<Default Extension="xml" ContentType="application/xml"/>'
         f'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
         f'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
         f'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'.encode()),
        ("_rels/.rels", f'<Relationships xmlns="{ns}package/2006/relationships"><Relationship Id="rId1" '
         f'Type="{ns}officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         "</Relationships>".encode()),
        ("xl/workbook.xml", f'<workbook xmlns="{ns}spreadsheetml/2006/main" xmlns:r="{ns}officeDocument/2006/'
         'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'.encode()),
        ("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{ns}package/2006/relationships"><Relationship '
         f'Id="rId1" Type="{ns}officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
         "</Relationships>".encode()),
        ("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{ns}spreadsheetml/2006/main"><sheetData>{sheet}'
         "</sheetData></worksheet>".encode("utf-8")),
    ])


def tnef() -> bytes:
    """TNEF signature 0x223E9F78, a key and one attribute stub: what Outlook RTF mode sends."""
    return bytes.fromhex("789F3E22") + b"\x01\x00" + b"\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00"


def garbage(size: int, seed: bytes) -> bytes:
    out, counter = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


# --- hostile message builders -----------------------------------------------------------------

HEAD = f"From: sender@example.cn\nTo: {OUR}\nDate: Mon, 3 Jun 2024 10:00:00 +0800\n"


def simple(ctype: str | bytes, body: str | bytes, subject: str = "hostile", extra: str = "",
           msgid: str = "<hostile@example.cn>") -> bytes:
    mid = f"Message-ID: {msgid}\n" if msgid else ""
    return eml(HEAD, f"Subject: {subject}\n{mid}{extra}", ctype, "\n", body)


def mixed(parts: list[bytes | str], subject: str = "hostile", boundary: str = "HB", extra: str = "") -> bytes:
    return eml(HEAD, f"Subject: {subject}\nMessage-ID: <{subject}@example.cn>\nMIME-Version: 1.0\n{extra}"
               f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n', multipart(boundary, parts))


def text_part(text: str = "见附件。") -> bytes:
    return part("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
                b64_lines(text.encode("utf-8")))


def att_part(name: str | bytes, data: bytes, ctype: str = OCTET, encoded: str | None = None) -> bytes:
    """An attachment part; `name` is written as is (ASCII, raw bytes) or as a UTF-8 B word when not ASCII."""
    if isinstance(name, str) and not name.isascii():
        name = bword(name, "utf-8", "utf-8")
    payload = b64_lines(data) if encoded is None else encoded
    return (B(f"Content-Type: {ctype}; name=\"") + B(name) + B('"\nContent-Disposition: attachment; filename="')
            + B(name) + B('"\nContent-Transfer-Encoding: base64\n\n') + B(payload))


def nested_rfc822(levels: int, innermost: bytes) -> bytes:
    """`levels` forwards, each wrapping the previous mail as a message/rfc822 attachment."""
    mail = innermost
    for i in range(levels):
        mail = mixed([text_part(f"第{i + 1}层转发"),
                      part("Content-Type: message/rfc822", mail.replace(b"\r\n", b"\n"))],
                     subject=f"fwd{i + 1}", boundary=f"F{i + 1}")
    return mail


def rfc822_chain(blocks: int, tail: bytes) -> bytes:
    """Header blocks that each say message/rfc822: every block is one MIME level deeper."""
    return eml(HEAD, "Subject: deep chain\nMIME-Version: 1.0\n",
               "Content-Type: message/rfc822\n\n" * blocks, tail)


def nested_multipart(levels: int) -> bytes:
    body = text_part("最里层")
    for i in range(levels):
        body = part(f'Content-Type: multipart/mixed; boundary="n{i}"', multipart(f"n{i}", [body]))
    return eml(HEAD, "Subject: nested multipart\nMIME-Version: 1.0\n", body)


def many_parts(count: int) -> bytes:
    parts = [text_part()] + [att_part(f"part{i:05d}.txt", b"x") for i in range(1, count)]
    return mixed(parts, subject=f"parts{count}")


def dsn() -> bytes:
    original = simple("Content-Type: text/plain; charset=utf-8\n", "原邮件".encode(), subject="receipt",
                      msgid="<reply-1@bot.example.gov.cn>")
    return eml(
        "From: MAILER-DAEMON@mx.example.cn (Mail Delivery System)\nTo: qyjd@example.gov.cn\n"
        "Subject: Undelivered Mail Returned to Sender\nReturn-Path: <>\nMessage-ID: <dsn-1@mx.example.cn>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n',
        multipart("R", [
            part("Content-Type: text/plain; charset=us-ascii", "This is the mail system. Delivery failed."),
            part("Content-Type: message/delivery-status",
                 "Reporting-MTA: dns; mx.example.cn\n\nFinal-Recipient: rfc822; nobody@example.cn\n"
                 "Action: failed\nStatus: 5.1.1"),
            part("Content-Type: message/rfc822", original.replace(b"\r\n", b"\n")),
        ]))


def html_only(html: str, charset: str = "utf-8") -> bytes:
    return simple(f"Content-Type: text/html; charset={charset}\nContent-Transfer-Encoding: base64\n",
                  b64_lines(html.encode(charset)))


FORM_LINE = "企业名称：乌海镕喆科技有限公司"
GBK_FORM = FORM_LINE.encode("gbk")
UTF8_FORM = FORM_LINE.encode("utf-8")
B64_FORM = base64.b64encode(UTF8_FORM).decode("ascii")


@dataclass
class Hostile:
    name: str
    description: str
    build: Callable[[], bytes]
    expect: dict
    limits: dict = field(default_factory=dict)


def _hostile_charsets() -> list[Hostile]:
    tp = "Content-Type: text/plain; charset="
    return [
        Hostile("no_content_type", "no MIME headers at all, 8-bit UTF-8 body",
                lambda: simple(b"", UTF8_FORM), {"body_contains": [FORM_LINE], "attachment_count": 0}),
        Hostile("no_content_type_gbk", "no MIME headers, raw GBK body (read by the UTF-8 then gb18030 fallback)",
                lambda: simple(b"", GBK_FORM), {"body_contains": [FORM_LINE]}),
        Hostile("charset_x_unknown", "charset=x-unknown on GBK bytes",
                lambda: simple(tp + "x-unknown\n", GBK_FORM),
                {"body_contains": [FORM_LINE], "notes_contain": ["unknown charset 'x-unknown'"]}),
        Hostile("charset_utf8_alias", "charset=utf8 (no dash)", lambda: simple(tp + "utf8\n", UTF8_FORM),
                {"body_contains": [FORM_LINE]}),
        Hostile("charset_gb2312_trailing_space", 'charset="gb2312 " (space inside the quotes) on GBK bytes',
                lambda: simple(tp + '"gb2312 "\n', GBK_FORM), {"body_contains": [FORM_LINE]}),
        Hostile("charset_gb2312_on_utf8", "labelled gb2312, bytes are UTF-8",
                lambda: simple(tp + "gb2312\n", UTF8_FORM),
                {"body_contains": [FORM_LINE], "notes_contain": ["on UTF-8 bytes"]}),
        Hostile("charset_latin1_on_utf8", "labelled iso-8859-1, bytes are UTF-8",
                lambda: simple(tp + "iso-8859-1\n", UTF8_FORM), {"body_contains": [FORM_LINE]}),
        Hostile("charset_named_base64", "charset=base64 (a Python bytes codec, not a charset)",
                lambda: simple(tp + "base64\n", UTF8_FORM),
                {"body_contains": [FORM_LINE], "notes_contain": ["unknown charset 'base64'"]}),
        Hostile("charset_utf16_bom", "charset=utf-16 with a BOM",
                lambda: simple(tp + "utf-16\nContent-Transfer-Encoding: base64\n",
                               b64_lines(FORM_LINE.encode("utf-16"))), {"body_contains": [FORM_LINE]}),
        Hostile("charset_utf8_invalid_bytes", "charset=utf-8 with invalid bytes in the middle",
                lambda: simple(tp + "utf-8\n", UTF8_FORM + b"\xff\xfe\xc3 tel 0473-1234567"),
                {"body_contains": ["0473-1234567"], "notes_contain": ["bytes invalid in charset 'utf-8' replaced"]}),
        Hostile("utf8_bom_body", "UTF-8 body starting with a byte order mark",
                lambda: simple(tp + "utf-8\n", b"\xef\xbb\xbf" + UTF8_FORM), {"body_startswith": "企业名称"}),
        Hostile("header_8bit_gbk_subject", "raw GBK bytes in Subject and the From display name",
                lambda: eml(b"From: \"", "王堃".encode("gbk"), B(f"\" <wk@example.cn>\nTo: {OUR}\nSubject: "),
                            "来访企业预约登记表-镕喆".encode("gbk"), b"\n\nbody\n"),
                {"subject": "来访企业预约登记表-镕喆", "from_name": "王堃", "from_addr": "wk@example.cn"}),
        Hostile("header_8bit_utf8_subject", "raw UTF-8 bytes in Subject",
                lambda: eml(HEAD, b"Subject: ", "预约登记-镕喆".encode("utf-8"), b"\n\nbody\n"),
                {"subject": "预约登记-镕喆"}),
        Hostile("header_8bit_mixed_with_words", "raw GBK bytes followed by an RFC 2047 word in one Subject",
                lambda: eml(HEAD, b"Subject: ", "镕喆".encode("gbk"), B(" " + bword("登记表", "utf-8", "utf-8")),
                            b"\n\nbody\n"), {"subject": "镕喆 登记表"}),
        Hostile("encoded_word_garbage", "broken RFC 2047 words: bad base64, unknown charset, bad encoding letter",
                lambda: simple("Content-Type: text/plain\n", "x", subject=(
                    "=?gb2312?B?!!!?= =?x-unknown?Q?abc?= =?utf-8?X?abc?= =?utf-8?B?5L2g5aW?=")),
                {"subject_contains": ["abc"]}),
        Hostile("encoded_word_split_char", "one character split across two B words of one charset",
                lambda: simple("Content-Type: text/plain\n", "x", subject=" ".join(
                    bwords_split("镕喆科技".encode("gbk"), "gbk", 3))), {"subject": "镕喆科技"}),
    ]


def _hostile_transfer() -> list[Hostile]:
    half = len(UTF8_FORM) // 2
    first = base64.b64encode("第一段".encode()).decode()
    second = base64.b64encode("第二段".encode()).decode()
    junk = B64_FORM[:10] + "!*" + B64_FORM[10:20] + "\x7f" + B64_FORM[20:].rstrip("=")
    return [
        Hostile("base64_junk_chars", "base64 body with junk characters and no padding",
                lambda: simple("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n", junk),
                {"body_contains": [FORM_LINE], "notes_contain": ["broken base64"]}),
        Hostile("base64_mid_padding", "two separately padded base64 blocks concatenated",
                lambda: simple("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                               f"{first}\n{second}\n"), {"body_contains": ["第一段", "第二段"]}),
        Hostile("base64_truncated_attachment", "attachment base64 cut to a lone sextet",
                lambda: mixed([text_part(), att_part("登记表.xlsx", b"", encoded=b64_lines(XLSX_STUB)[:16] + "Q")]),
                {"attachment_names": ["登记表.xlsx"], "attachment_sizes": [12], "notes_contain": ["broken base64"]}),
        Hostile("qp_broken", "quoted-printable with =ZZ, lower-case hex and a dangling =4",
                lambda: simple("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
                               "ok =ZZ caf=c3=a9 " + qp_body(FORM_LINE, "utf-8") + " end=4"),
                {"body_contains": ["ok =ZZ café", FORM_LINE], "notes_contain": ["broken quoted-printable"]}),
        Hostile("unknown_cte", "Content-Transfer-Encoding base65 on an attachment",
                lambda: mixed([text_part(), B('Content-Type: application/octet-stream; name="a.xlsx"\n'
                                              "Content-Transfer-Encoding: base65\n\nPK-stub")]),
                {"attachment_names": ["a.xlsx"], "notes_contain": ["unknown Content-Transfer-Encoding 'base65'"]}),
        Hostile("utf8_split_halves_qp", "a QP soft line break inside a UTF-8 character",
                lambda: simple("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
                               "".join(f"={b:02X}" for b in UTF8_FORM[:half]) + "=\n"
                               + "".join(f"={b:02X}" for b in UTF8_FORM[half:])), {"body_contains": [FORM_LINE]}),
    ]


def _hostile_headers() -> list[Hostile]:
    long_subject = "A" * 20000
    folded = "\n".join(" " + "B" * 99 for _ in range(600))
    return [
        Hostile("header_line_20000", "a Subject line of 20,000 characters",
                lambda: simple("Content-Type: text/plain\n", "body", subject=long_subject),
                {"notes_contain": ["header line(s) over 10000 characters truncated"], "body_contains": ["body"]}),
        Hostile("header_folded_60000", "one header folded over 600 lines (60,000 characters unfolded)",
                lambda: simple("Content-Type: text/plain\n", "body", extra=f"X-Long:{folded}\n"),
                {"notes_contain": ["unfolded header(s) over 10000"], "body_contains": ["body"]}),
        Hostile("filename_param_30000", "a filename parameter of 30,000 characters on one line",
                lambda: mixed([text_part(), att_part("x" * 30000 + ".xlsx", XLSX_STUB)]),
                {"attachment_count": 1, "notes_contain": ["header line(s) over 10000"]}),
        Hostile("nul_in_headers", "NUL bytes inside Subject and From",
                lambda: eml(b"From: a\x00b@example.cn\nTo: qyjd@example.gov.cn\nSubject: ab\x00cd\n\nbody\n"),
                {"subject": "abcd", "notes_contain": ["NUL bytes removed"]}),
        Hostile("duplicated_content_type", "two Content-Type headers: multipart first, text/plain second",
                lambda: mixed([text_part("正文"), att_part("a.xlsx", XLSX_STUB)], boundary="DUP").replace(
                    b'boundary="DUP"\r\n', b'boundary="DUP"\r\nContent-Type: text/plain\r\n', 1),
                {"attachment_names": ["a.xlsx"], "body_contains": ["正文"],
                 "notes_contain": ["duplicated Content-Type"]}),
        Hostile("content_type_garbage", "Content-Type value made of separators and quotes",
                lambda: simple('Content-Type: ;;;==="""; ;\n', "plain text survives"),
                {"body_contains": ["plain text survives"]}),
        Hostile("content_type_no_subtype", "Content-Type: text (no subtype)",
                lambda: simple("Content-Type: text\n", "still text"), {"body_contains": ["still text"]}),
        Hostile("address_garbage", "From made of brackets and at-signs; To with 2,000 addresses on one line",
                lambda: eml(b"From: <<<@@@>>> \"\" <>\nTo: " + b", ".join(b"u%d@example.cn" % i for i in range(2000))
                            + b"\nSubject: addr\n\nbody\n"), {"subject": "addr"}),
        Hostile("date_garbage", "Date: yesterday at noon", lambda: simple(
            "Content-Type: text/plain\n", "body", extra="Date: yesterday at noon\n").replace(
            b"Date: Mon, 3 Jun 2024 10:00:00 +0800\r\n", b""), {"date_none": True}),
        Hostile("message_id_missing", "no Message-ID header: a stable digest id",
                lambda: simple("Content-Type: text/plain\n", "body", msgid=""), {"message_id_digest": True}),
        Hostile("message_id_empty", "Message-ID: <> (empty)",
                lambda: simple("Content-Type: text/plain\n", "body", msgid="<>"), {"message_id_digest": True}),
        Hostile("header_without_colon", "a header line without a colon in the middle of the header block",
                lambda: eml(HEAD, "Subject: before\nthis line is not a header\nX-After: 1\n\nbody\n"),
                {"subject": "before"}),
    ]


def _hostile_structure() -> list[Hostile]:
    deep_tail = mixed([text_part("最深处"), att_part("deep.xlsx", XLSX_STUB)], subject="tail", boundary="T")
    return [
        Hostile("nested_rfc822_3_levels", "a form forwarded three times as message/rfc822",
                lambda: nested_rfc822(3, mixed([text_part("原件"), att_part("登记表-镕喆.xlsx", XLSX_STUB)],
                                               subject="orig")),
                {"attachment_names": ["登记表-镕喆.xlsx"], "body_contains": ["第3层转发"]}),
        Hostile("rfc822_chain_at_depth_limit", "message/rfc822 chain putting the attachment at depth 20 (kept)",
                lambda: rfc822_chain(19, deep_tail), {"attachment_names": ["deep.xlsx"], "skipped_count": 0}),
        Hostile("rfc822_chain_over_depth_limit", "message/rfc822 chain putting the attachment at depth 21",
                lambda: rfc822_chain(20, deep_tail),
                {"skipped_names": ["deep.xlsx"], "notes_contain": ["nested deeper than 20"]}),
        Hostile("rfc822_chain_5000", "5,000 nested message/rfc822 header blocks (stdlib recursion limit)",
                lambda: rfc822_chain(5000, deep_tail), {"subject": "deep chain", "attachment_count": 0}),
        Hostile("nested_multipart_3000", "3,000 nested multipart levels",
                lambda: nested_multipart(3000), {"notes_contain": ["MIME boundaries"], "attachment_count": 0}),
        Hostile("parts_300", "300 parts: root + text + 198 attachments kept, the other 101 skipped",
                lambda: many_parts(300), {"kept_count": 198, "skipped_count": 101,
                                          "notes_contain": ["beyond the first 200 skipped"]}),
        Hostile("parts_2000", "2,000 parts: cut before the stdlib parser builds them",
                lambda: many_parts(2000), {"kept_count": 198, "notes_contain": ["MIME boundaries"]}),
        Hostile("boundary_missing", "multipart/mixed without a boundary parameter",
                lambda: eml(HEAD, "Subject: nob\nContent-Type: multipart/mixed\n\n--X\nContent-Type: text/plain\n\n"
                                  "typed text\n--X--\n"),
                {"body_contains": ["typed text"], "notes_contain": ["without a usable boundary"]}),
        Hostile("boundary_mismatch", "boundary declared AAA, parts delimited by BBB",
                lambda: mixed([text_part(), att_part("a.xlsx", XLSX_STUB)], boundary="BBB").replace(
                    b'boundary="BBB"', b'boundary="AAA"'), {"attachment_count": 0}),
        Hostile("boundary_never_closed", "the last part has no closing boundary",
                lambda: mixed([text_part("正文"), att_part("a.xlsx", XLSX_STUB)]).replace(b"--HB--\r\n", b""),
                {"attachment_names": ["a.xlsx"], "body_contains": ["正文"]}),
        Hostile("boundary_5000_chars", "a legal but 5,000-character boundary",
                lambda: mixed([text_part("正文"), att_part("a.xlsx", XLSX_STUB)], boundary="b" * 5000),
                {"attachment_names": ["a.xlsx"], "body_contains": ["正文"]}),
        Hostile("truncated_mid_attachment", "the mail ends in the middle of an attachment's base64",
                lambda: mixed([text_part("正文"), att_part("big.xlsx", garbage(3000, b"t"))])[:2500],
                {"attachment_names": ["big.xlsx"], "body_contains": ["正文"]}),
        Hostile("multipart_digest", "multipart/digest whose parts default to message/rfc822",
                lambda: eml(HEAD, 'Subject: digest\nContent-Type: multipart/digest; boundary="D"\n\n',
                            multipart("D", [B("\n") + mixed([text_part("一"), att_part("d1.xlsx", XLSX_STUB)],
                                                            subject="d1", boundary="D1")])),
                {"attachment_names": ["d1.xlsx"]}),
        Hostile("delivery_status_report", "a bounce: multipart/report with message/delivery-status",
                dsn, {"loop_contains": "delivery status report", "from_addr": "mailer-daemon@mx.example.cn"}),
        Hostile("autoreply_qq_no_headers", "QQ Mail auto-reply recognisable only by its subject",
                lambda: simple("Content-Type: text/plain; charset=utf-8\n", "您好，我现在休假中。".encode(),
                               subject=bword("自动回复: 来访企业预约登记表", "utf-8", "utf-8")),
                {"loop_contains": "自动回复"}),
        Hostile("inline_image_cid", "HTML body with an inline cid image without a file name",
                lambda: mixed([part("Content-Type: text/html; charset=utf-8",
                                    '<p>企业名称：镕喆</p><img src="cid:img1">'.encode()),
                               part("Content-Type: image/png\nContent-ID: <img1>\nContent-Disposition: inline\n"
                                    "Content-Transfer-Encoding: base64", b64_lines(PNG_STUB))]),
                {"attachment_names": [""], "content_types": ["image/png"], "body_contains": ["企业名称：镕喆"]}),
    ]


def _hostile_raw() -> list[Hostile]:
    return [
        Hostile("empty_input", "zero bytes: the only input parse_message refuses (InputError)",
                lambda: b"", {"raises": "InputError"}),
        Hostile("whitespace_only", "two empty lines and nothing else", lambda: b"\r\n\r\n",
                {"attachment_count": 0, "message_id_digest": True}),
        Hostile("empty_body", "headers and the blank line, no body",
                lambda: simple("Content-Type: text/plain\n", ""), {"body_empty": True, "attachment_count": 0}),
        Hostile("only_headers", "headers without the blank line that ends them",
                lambda: eml(HEAD, "Subject: only headers\nMessage-ID: <oh@example.cn>"),
                {"subject": "only headers", "message_id": "oh@example.cn"}),
        Hostile("one_line", "a single line without a line break", lambda: b"hello",
                {"message_id_digest": True, "attachment_count": 0}),
        Hostile("binary_garbage", "64 KB of pseudo-random bytes", lambda: garbage(65536, b"garbage"),
                {"message_id_digest": True}),
        Hostile("binary_garbage_after_headers", "valid headers, then 64 KB of pseudo-random bytes",
                lambda: simple("Content-Type: text/plain; charset=utf-8\n", garbage(65536, b"body")),
                {"subject": "hostile"}),
        Hostile("lf_only", "a Maildir copy with bare LF line ends",
                lambda: mixed([text_part("正文"), att_part("a.xlsx", XLSX_STUB)]).replace(b"\r\n", b"\n"),
                {"attachment_names": ["a.xlsx"], "body_contains": ["正文"]}),
        Hostile("cr_only", "old Mac CR-only line ends",
                lambda: mixed([text_part("正文"), att_part("a.xlsx", XLSX_STUB)]).replace(b"\r\n", b"\r"),
                {"subject": "hostile"}),
        Hostile("html_script_style", "HTML-only body with script, style, comments and CDATA",
                lambda: html_only("<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
                                  "<body><!-- hidden --><p>企业名称：镕喆</p><![CDATA[raw]]>"
                                  "<script>document.write('y')</script><p>联系电话：0473-1234567</p></body></html>"),
                {"body_contains": ["企业名称：镕喆", "联系电话：0473-1234567"],
                 "body_excludes": ["alert", "color:red", "hidden", "document.write"]}),
        Hostile("html_malformed", "unclosed tags, a broken comment and an unterminated attribute",
                lambda: html_only('<div><p>企业名称：喆<table><tr><td>x<!--> <a href="'
                                  + "z" * 5000 + "<p>尾"), {"body_contains": ["企业名称：喆"]}),
    ]


def _hostile_names() -> list[Hostile]:
    gbk_bs = "王昞".encode("gbk")  # 昞 is 0x95 0x5C: its second byte is a backslash
    return [
        Hostile("rfc2231_unknown_charset", "filename*=x-bogus''… on UTF-8 bytes",
                lambda: mixed([text_part(), B("Content-Type: application/octet-stream\nContent-Disposition: "
                                              f"attachment; filename*=x-bogus''{pct('镕喆.xlsx'.encode())}\n\nx")]),
                {"attachment_names": ["镕喆.xlsx"]}),
        Hostile("rfc2231_gbk_charset", "filename*=gbk''… (percent-encoded GBK)",
                lambda: mixed([text_part(), B("Content-Type: application/octet-stream\nContent-Disposition: "
                                              f"attachment; filename*=gbk''{pct('镕喆.xlsx'.encode('gbk'))}\n\nx")]),
                {"attachment_names": ["镕喆.xlsx"]}),
        Hostile("rfc2231_missing_index0", "continuations *1* and *2* only, no charset",
                lambda: mixed([text_part(), B("Content-Type: application/octet-stream\nContent-Disposition: "
                                              f"attachment; filename*2*=.xlsx; filename*1*={pct('镕喆'.encode())}\n\nx")]),
                {"attachment_names": ["镕喆.xlsx"]}),
        Hostile("rfc2231_plain_continuation", "non-encoded continuations filename*0= and filename*1=",
                lambda: mixed([text_part(), B('Content-Type: application/octet-stream\nContent-Disposition: '
                                              'attachment;\n filename*0="form-";\n filename*1="2024.xlsx"\n\nx')]),
                {"attachment_names": ["form-2024.xlsx"]}),
        Hostile("rfc2231_huge_index", "continuation index with 20 digits",
                lambda: mixed([text_part(), B("Content-Type: application/octet-stream\nContent-Disposition: "
                                              "attachment; filename*99999999999999999999*=abc.xlsx\n\nx")]),
                {"attachment_names": ["abc.xlsx"]}),
        Hostile("name_preference", "filename* beats filename= beats name=",
                lambda: mixed([text_part(), B('Content-Type: application/octet-stream; name="c.xlsx"\n'
                                              'Content-Disposition: attachment; filename="b.xlsx"; '
                                              "filename*=utf-8''a.xlsx\n\nx")]),
                {"attachment_names": ["a.xlsx"]}),
        Hostile("gbk_backslash_before_quote", "raw GBK name whose last byte is 0x5C right before the closing quote",
                lambda: mixed([text_part(), att_part(gbk_bs, XLSX_STUB)]), {"attachment_names": ["王昞"]}),
        Hostile("unquoted_encoded_words", "name= with two RFC 2047 words, unquoted, separated by a space",
                lambda: mixed([text_part(), B("Content-Type: application/octet-stream; name="
                                              + " ".join(bwords_split("镕喆登记表.xlsx".encode("gbk"), "gb2312", 5))
                                              + "\nContent-Transfer-Encoding: base64\n\n" + b64_lines(XLSX_STUB))]),
                {"attachment_names": ["镕喆登记表.xlsx"]}),
        Hostile("windows_path_name", "a full Windows path as the file name",
                lambda: mixed([text_part(), B('Content-Type: application/octet-stream; name="C:\\Users\\')
                               + "张三".encode() + B('\\Desktop\\a.xlsx"\n\nx')]),
                {"attachment_names": ["C:\\Users\\张三\\Desktop\\a.xlsx"]}),
        Hostile("ole_attachment_named_tcmime", "QQ-style tcmime.*.bin and Outlook ATT00001.dat names kept",
                lambda: mixed([text_part(), att_part("tcmime.1234.bin", XLSX_STUB), att_part("ATT00001.dat", b"\0")]),
                {"attachment_names": ["tcmime.1234.bin", "ATT00001.dat"]}),
    ]


def _hostile_files() -> list[Hostile]:
    def one(name: str, data: bytes, ctype: str = OCTET) -> Callable[[], bytes]:
        return lambda: mixed([text_part("登记表见附件。"), att_part(name, data, ctype)])

    inner_form = xlsx_rows(3)
    return [
        Hostile("tnef_winmail_dat", "Outlook TNEF winmail.dat kept as an attachment as is",
                one("winmail.dat", tnef(), "application/ms-tnef"),
                {"attachment_names": ["winmail.dat"], "content_types": ["application/ms-tnef"],
                 "attachment_sizes": [len(tnef())]}),
        Hostile("zero_byte_attachment", "an attachment of zero bytes", one("空表.xlsx", b"", XLSX_MIME),
                {"attachment_names": ["空表.xlsx"], "attachment_sizes": [0]}),
        Hostile("corrupt_zip_xlsx", "PK magic followed by garbage, named .xlsx",
                one("登记表.xlsx", b"PK\x03\x04" + garbage(2000, b"zip"), XLSX_MIME),
                {"attachment_names": ["登记表.xlsx"], "attachment_sizes": [2004]}),
        Hostile("zip_bomb_xlsx", "200 MB of zeros deflated into a ~200 KB .xlsx", one("登记表.xlsx", zip_bomb(), XLSX_MIME),
                {"attachment_names": ["登记表.xlsx"], "skipped_count": 0}),
        Hostile("billion_laughs_docx", "a .docx whose document.xml is a billion-laughs entity bomb",
                one("登记表.docx", billion_laughs_docx(), DOCX_MIME), {"attachment_names": ["登记表.docx"]}),
        Hostile("encrypted_ole_docx", "an encrypted Office file (OLE with EncryptionInfo) named .docx",
                one("登记表.docx", ole(["Root Entry", "EncryptionInfo", "EncryptedPackage"]), DOCX_MIME),
                {"attachment_names": ["登记表.docx"]}),
        Hostile("doc_renamed_docx", "an old Word .doc (OLE WordDocument) renamed .docx",
                one("登记表.docx", ole(["Root Entry", "WordDocument", "1Table"]), DOCX_MIME),
                {"attachment_names": ["登记表.docx"]}),
        Hostile("png_named_xlsx", "a PNG image renamed .xlsx", one("登记表.xlsx", PNG_STUB, XLSX_MIME),
                {"attachment_names": ["登记表.xlsx"], "attachment_sizes": [len(PNG_STUB)]}),
        Hostile("pdf_named_docx", "a PDF renamed .docx", one("登记表.docx", b"%PDF-1.4\n%stub\n%%EOF\n", DOCX_MIME),
                {"attachment_names": ["登记表.docx"]}),
        Hostile("xlsx_named_doc", "a real .xlsx zip named .doc", one("登记表.doc", inner_form, "application/msword"),
                {"attachment_names": ["登记表.doc"], "content_types": ["application/msword"]}),
        Hostile("form_inside_zip", "the form packed in a .zip archive",
                one("登记表.zip", zip_bytes([("来访企业预约登记表.xlsx", inner_form)]), "application/zip"),
                {"attachment_names": ["登记表.zip"], "content_types": ["application/zip"]}),
        Hostile("rows_10000_xlsx", "a workbook with 10,000 rows", one("登记表-万行.xlsx", xlsx_rows(10000), XLSX_MIME),
                {"attachment_names": ["登记表-万行.xlsx"]}),
        Hostile("xlsm_macro", "a macro-enabled workbook (.xlsm with vbaProject.bin)",
                one("登记表.xlsm", zip_bytes([("[Content_Types].xml", b"<Types/>"), ("xl/vbaProject.bin", b"\0" * 64)]),
                    "application/vnd.ms-excel.sheet.macroEnabled.12"), {"attachment_names": ["登记表.xlsm"]}),
    ]


def _hostile_limits() -> list[Hostile]:
    return [
        Hostile("attachment_over_limit", "one attachment over max_attachment_bytes (4096 here), one under",
                lambda: mixed([text_part(), att_part("大附件.xlsx", garbage(10000, b"big")),
                               att_part("小附件.xlsx", XLSX_STUB)]),
                {"skipped_names": ["大附件.xlsx"], "kept_names": ["小附件.xlsx"], "notes_contain": ["over the limit"]},
                {"max_attachment_bytes": 4096}),
        Hostile("message_over_limit", "a message over max_message_bytes (4096 here): headers only",
                lambda: mixed([text_part(), att_part("a.xlsx", garbage(10000, b"msg"))], subject="toolarge"),
                {"subject": "toolarge", "attachment_count": 0, "body_empty": True, "notes_contain": ["headers only"]},
                {"max_message_bytes": 4096}),
        Hostile("parts_over_small_limit", "10 attachments with max_parts 5: root + text + 3 kept, 7 skipped",
                lambda: many_parts(11), {"kept_count": 3, "skipped_count": 7}, {"max_parts": 5}),
        Hostile("depth_over_small_limit", "4 nested multiparts with max_depth 2",
                lambda: nested_multipart(4), {"notes_contain": ["nested deeper than 2"], "body_empty": True},
                {"max_depth": 2}),
        Hostile("header_over_small_limit", "a 500-character Subject with max_header_line 100",
                lambda: simple("Content-Type: text/plain\n", "body", subject="S" * 500),
                {"notes_contain": ["over 100 characters truncated"]}, {"max_header_line": 100}),
    ]


def _hostile_attacks() -> list[Hostile]:
    """One small mail each that once held the daemon for minutes, or talked it into something."""
    from tests.support.bombs import empty_paragraphs_docx, shared_string_bomb

    spaces = "企业名称：" + " " * 200_000 + "乌海镕喆科技有限公司\n联系人：王堃\n联系电话：13904731234\n"
    return [
        Hostile("attack_spaces_line", "a 200 KB line of spaces between a label and its value",
                lambda: simple("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                               b64_lines(spaces.encode())), {"subject": "hostile"}),
        Hostile("attack_newlines_after_tag", "60,000 empty lines after a case tag (quote stripping)",
                lambda: simple("Content-Type: text/plain; charset=utf-8\n",
                               ("落实情况" + "\n" * 60_000 + "已办结").encode(),
                               subject="[WHJD-2026-0001] " + bword("落实情况", "utf-8", "utf-8"),
                               extra="In-Reply-To: <x@y>\n"),
                {"subject": "[WHJD-2026-0001] 落实情况"}),
        Hostile("attack_html_unclosed_a", "300 KB of `<a` in an HTML body",
                lambda: html_only("<p>企业名称：镕喆</p>" + "<a" * 150_000), {"body_contains": ["企业名称：镕喆"]}),
        Hostile("attack_xlsx_shared_string", "a 0.35 MB .xlsx whose cells all point at one 32 K shared string",
                lambda: mixed([text_part(), att_part("登记表.xlsx", shared_string_bomb(), XLSX_MIME)],
                              subject="sst"), {"attachment_names": ["登记表.xlsx"]}),
        Hostile("attack_docx_empty_paragraphs", "99 MB of <w:p/> in a small .docx",
                lambda: mixed([text_part(), att_part("登记表.docx", empty_paragraphs_docx(16_500_000), DOCX_MIME)],
                              subject="wp"), {"attachment_names": ["登记表.docx"]}),
        Hostile("attack_display_name_admin", "From: admin@… <attacker@evil.test>: the admin's name, a stranger",
                lambda: eml("From: admin@rb.test <attacker@evil.test>\nTo: " + OUR + "\n"
                            "Date: Mon, 3 Jun 2024 10:00:00 +0800\nSubject: ledger\n"
                            "Message-ID: <hostile@example.cn>\nContent-Type: text/plain\n\nledger attached"),
                {"subject": "ledger"}),
        Hostile("attack_line_separator_name", "U+2028 inside an encoded subject and the body's company name",
                lambda: simple("Content-Type: text/plain; charset=utf-8\n",
                               "企业名称：乌海镕喆\u2028科技有限公司\n".encode(),
                               subject=bword("登记\u2028表", "utf-8", "utf-8")),
                {"subject": "登记 表"}),
        Hostile("attack_forged_dsn", "a delivery report naming a unit's address for mail we never sent",
                lambda: eml("From: MAILER-DAEMON@mx.evil.test\nTo: " + OUR + "\nSubject: Undelivered\n"
                            "Message-ID: <hostile@example.cn>\nMIME-Version: 1.0\n"
                            "Content-Type: multipart/report; report-type=delivery-status; boundary=R\n\n"
                            "--R\nContent-Type: text/plain\n\nfailed\n--R\n"
                            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.evil.test\n\n"
                            "Final-Recipient: rfc822; fgw@units.test\nAction: failed\nStatus: 5.1.1\n\n"
                            "--R\nContent-Type: text/rfc822-headers\n\nMessage-ID: <never@bot.test>\n\n--R--\n"),
                {"subject": "Undelivered"}),
        Hostile("attack_auto_prefix", "an auto-responder without RFC 3834 headers: subject `Auto: …`",
                lambda: simple("Content-Type: text/plain; charset=utf-8\n", "您好，来信已收到。".encode(),
                               subject="Auto: Re: [WHJD-2026-0001] receipt"),
                {"subject": "Auto: Re: [WHJD-2026-0001] receipt"}),
    ]


def _hostile() -> list[Hostile]:
    return (_hostile_charsets() + _hostile_transfer() + _hostile_headers() + _hostile_structure()
            + _hostile_raw() + _hostile_names() + _hostile_files() + _hostile_limits()
            + _hostile_attacks())


def write_hostile(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for case in _hostile():
        (out / f"{case.name}.eml").write_bytes(case.build())
        entry = {"file": f"{case.name}.eml", "description": case.description, "expect": case.expect}
        if case.limits:
            entry["limits"] = case.limits
        index.append(entry)
    (out / "INDEX.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(index)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data")
    ap.add_argument("--only", choices=("golden", "hostile"))
    args = ap.parse_args(argv)
    if args.only != "hostile":
        print(f"golden: {write_golden(args.out / 'mail')} messages")
    if args.only != "golden":
        print(f"hostile: {write_hostile(args.out / 'hostile')} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
