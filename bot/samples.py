"""Realistic registration mails, built in code: used by the demo, the tests and the benchmarks.

The forms are laid out the way people edit them (label and value side by side, 4 columns) and the
mails are encoded the way Foxmail does (GB2312-labelled GBK, RFC 2047 names), so that everything
that reads them goes through the real decoding path.
"""

from __future__ import annotations

import base64
import dataclasses
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, make_msgid

ROSTER_SAMPLE = {  # from rules/roster.csv
    "jinshawan": ("91150302MA0N1RX23K", "乌海市金沙湾新材料科技有限公司"),
    "haihu": ("91150302MAJG7LCM8G", "乌海市海湖畅达物流有限公司"),
    "tianhong": ("91150302MAK11LCR49", "内蒙古乌海天弘信息技术有限公司"),
}


@dataclass
class FormValues:
    """A filled registration form, by the labels printed on the blank form."""

    enterprise_name: str = "乌海市金沙湾新材料科技有限公司"
    credit_code: str = "91150302MA0N1RX23K"
    district: str = "海勃湾区"
    enterprise_types: str = "☑规上企业 □上市后备企业 ☑高新技术企业 □其他"
    industry: str = "化工新材料"
    legal_representative: str = "王建国"
    contact_name: str = "李晓明"
    contact_title: str = "办公室主任"
    contact_phone: str = "13904731234"
    contact_email: str = ""
    attendees: str = "王建国（董事长）、李晓明（办公室主任）"
    field: str = "工业和信息化"
    title: str = "新材料技改项目用电负荷审批进度慢"
    facts: str = ("我公司年产5万吨电子级多晶硅技改项目已完成备案，因新增用电负荷需办理增容手续，"
                  "目前已等待3个月，影响项目按期投产。")
    reasons: str = "项目已列入自治区重点项目清单，按期投产可新增就业200人。"
    requests: str = "恳请协调供电部门加快增容审批，确保项目年底前通电投产。"
    suggested_departments: str = "市工业和信息化局、市发展和改革委员会"
    meeting_format: str = "座谈会"
    judicial: str = "□是 ☑否"
    discipline: str = "□是 ☑否"
    petition: str = "□是 ☑否"
    proposal: str = "□是 ☑否"
    signed_date: str = "2026年11月30日"
    extra: dict = dataclasses.field(default_factory=dict)

    def pairs(self) -> list[tuple[str, str]]:
        return [
            ("企业名称", self.enterprise_name), ("统一社会信用代码", self.credit_code),
            ("所属地区", self.district), ("企业类型", self.enterprise_types),
            ("所属行业", self.industry), ("法定代表人", self.legal_representative),
            ("联系人", self.contact_name), ("职务", self.contact_title),
            ("联系电话", self.contact_phone), ("电子邮箱", self.contact_email),
            ("参加接待人员", self.attendees), ("诉求领域", self.field),
            ("诉求标题", self.title), ("基本情况", self.facts), ("理由依据", self.reasons),
            ("具体请求", self.requests), ("建议解决部门", self.suggested_departments),
            ("接待形式", self.meeting_format),
            ("是否已进入司法程序、行政复议或仲裁程序", self.judicial),
            ("是否已由纪委监委受理", self.discipline),
            ("是否已通过信访渠道反映", self.petition),
            ("是否已列入人大建议、政协提案办理", self.proposal),
            ("填报日期", self.signed_date),
        ]


def form_xlsx(values: FormValues) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "预约登记表"
    ws.append(["来访企业预约登记表"])
    for label, value in values.pairs():
        ws.append([label, value or None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def form_docx(values: FormValues) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("来访企业预约登记表")
    table = document.add_table(rows=0, cols=2)
    for label, value in values.pairs():
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value or ""
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _b64_word(text: str, charset: str = "gb18030", label: str = "GB2312") -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def registration_mail(*, sender: str, to: str, subject: str = "来访企业预约登记表",
                      body: str = "您好：\n附件为我公司预约登记表，请查收。\n",
                      attachments: list[tuple[str, bytes]] = (), message_id: str | None = None,
                      in_reply_to: str = "", extra_headers: dict | None = None,
                      date: datetime | None = None) -> bytes:
    """A Foxmail-shaped mail: GB2312-labelled GBK text, base64 parts, RFC 2047 file names."""
    boundary = "----=_001_NextPart575676200741_=----"
    mid = message_id or make_msgid(domain="corp.test")[1:-1]
    headers = [
        f"From: {_b64_word('企业联系人')} <{sender}>",
        f"To: <{to}>",
        f"Subject: {_b64_word(subject)}",
        f"Date: {format_datetime(date or datetime.now(timezone.utc))}",
        f"Message-ID: <{mid}>",
        "X-Mailer: Foxmail 7.2.25.254[cn]",
        "Mime-Version: 1.0",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    headers += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
    headers.append(f'Content-Type: multipart/mixed;\r\n\tboundary="{boundary}"')
    parts = [_part("text/plain;\r\n\tcharset=\"GB2312\"", base64.encodebytes(body.encode("gb18030")))]
    for name, data in attachments:
        word = _b64_word(name)
        parts.append(_part(f'application/octet-stream;\r\n\tname="{word}"',
                           base64.encodebytes(data),
                           f'Content-Disposition: attachment;\r\n\tfilename="{word}"\r\n'))
    out = "\r\n".join(headers).encode() + b"\r\n\r\nThis is a multi-part message in MIME format.\r\n"
    for part in parts:
        out += f"\r\n--{boundary}\r\n".encode() + part
    return out + f"\r\n--{boundary}--\r\n".encode()


def _part(content_type: str, payload: bytes, disposition: str = "") -> bytes:
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n{disposition}\r\n"
    return head.encode() + payload.replace(b"\n", b"\r\n")
