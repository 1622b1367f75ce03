"""Generate the golden filled forms of tests/data/forms/ (deterministic: same bytes on every run).

    .venv/bin/python scripts/make_form_goldens.py [OUTDIR]

Each case writes NAME.xlsx / NAME.docx (or .xlsm / .docm / .txt) and NAME.json, the expected
`Form.to_json()`. The expected values are written BY HAND in PROFILES and CASES below; the reader is
never run here, so a golden test compares the parser against what a person says the form holds.
Districts of the goldens: 海勃湾区, 乌达区, 海南区; city: 乌海市.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.forms.model import CANONICAL_LABELS, Form  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "forms"
FIXED_TIME = dt.datetime(2024, 3, 1, 9, 0, 0)
DECL = ("judicial", "discipline", "petition", "proposal")


# ============================================================== the enterprises (hand-written)
# INPUT: what the enterprise typed, by JSON key. EXPECT: what the form must read as.

PROFILES = {
    "A": {
        "input": {
            "enterprise_name": "乌海市镕鑫化工有限责任公司",
            "credit_code": "91150303MA0N2K8L3R",
            "district": "海南区",
            "enterprise_types": "☑规上企业 □上市后备企业 ☑高新技术企业 □其他",
            "industry": "化学原料和化学制品制造业",
            "legal_representative": "王镕",
            "contact_name": "李建国",
            "contact_title": "办公室主任",
            "contact_phone": "13904731234",
            "contact_email": "lijianguo@rongxinchem.com",
            "attendees": "王镕（董事长）、李建国（办公室主任）",
            "field": "工业和信息化",
            "title": "技改项目节能审查进度缓慢",
            "facts": "我公司年产5万吨PVC糊树脂技改项目已完成备案，节能评估报告于2023年11月报送，"
                     "至今未获批复，影响项目按期开工。",
            "reasons": "项目属于《产业结构调整指导目录》鼓励类，符合园区规划。",
            "requests": "恳请协调相关部门加快节能审查，争取二季度开工。",
            "suggested_departments": "市发展和改革委员会、市工业和信息化局",
            "meeting_format": "座谈会",
            "declarations.judicial": "否",
            "declarations.discipline": "否",
            "declarations.petition": "否",
            "declarations.proposal": "否",
            "signed_date": "2024年3月5日",
        },
        "expect": {
            "enterprise_name": "乌海市镕鑫化工有限责任公司",
            "credit_code": "91150303MA0N2K8L3R",
            "district": "海南区",
            "enterprise_types": ["规上企业", "高新技术企业"],
            "industry": "化学原料和化学制品制造业",
            "legal_representative": "王镕",
            "contact_name": "李建国",
            "contact_title": "办公室主任",
            "contact_phone": "13904731234",
            "contact_email": "lijianguo@rongxinchem.com",
            "attendees": ["王镕（董事长）", "李建国（办公室主任）"],
            "field": "工业和信息化",
            "title": "技改项目节能审查进度缓慢",
            "facts": "我公司年产5万吨PVC糊树脂技改项目已完成备案，节能评估报告于2023年11月报送，"
                     "至今未获批复，影响项目按期开工。",
            "reasons": "项目属于《产业结构调整指导目录》鼓励类，符合园区规划。",
            "requests": "恳请协调相关部门加快节能审查，争取二季度开工。",
            "suggested_departments": ["市发展和改革委员会", "市工业和信息化局"],
            "meeting_format": "座谈会",
            "declarations.judicial": False,
            "declarations.discipline": False,
            "declarations.petition": False,
            "declarations.proposal": False,
            "signed_date": "2024-03-05",
        },
    },
    "B": {
        "input": {
            "enterprise_name": "内蒙古乌海喆源能源科技有限公司",
            "credit_code": "91150304MA13RB6T1A",
            "district": "乌达区",
            "enterprise_types": "上市后备企业",
            "industry": "电力、热力生产和供应业",
            "legal_representative": "张喆",
            "contact_name": "赵丽娟",
            "contact_title": "综合部经理",
            "contact_phone": "0473-8991510",
            "contact_email": "zhaolj@zheyuan-energy.cn",
            "attendees": "张喆 总经理、赵丽娟 综合部经理",
            "field": "能源",
            "title": "分布式光伏项目并网接入困难",
            "facts": "我公司在乌达工业园区建设的20兆瓦分布式光伏项目已于2023年12月建成，"
                     "因接入系统方案未获批复，至今无法并网发电。",
            "reasons": "符合国家关于促进分布式光伏发展的有关政策。",
            "requests": "请协调供电公司尽快批复接入系统方案，安排并网验收。",
            "suggested_departments": "市能源局、国网乌海供电公司",
            "meeting_format": "现场会",
            "declarations.judicial": "否",
            "declarations.discipline": "否",
            "declarations.petition": "否",
            "declarations.proposal": "否",
            "signed_date": "2024-03-08",
        },
        "expect": {
            "enterprise_name": "内蒙古乌海喆源能源科技有限公司",
            "credit_code": "91150304MA13RB6T1A",
            "district": "乌达区",
            "enterprise_types": ["上市后备企业"],
            "industry": "电力、热力生产和供应业",
            "legal_representative": "张喆",
            "contact_name": "赵丽娟",
            "contact_title": "综合部经理",
            "contact_phone": "0473-8991510",
            "contact_email": "zhaolj@zheyuan-energy.cn",
            "attendees": ["张喆 总经理", "赵丽娟 综合部经理"],
            "field": "能源",
            "title": "分布式光伏项目并网接入困难",
            "facts": "我公司在乌达工业园区建设的20兆瓦分布式光伏项目已于2023年12月建成，"
                     "因接入系统方案未获批复，至今无法并网发电。",
            "reasons": "符合国家关于促进分布式光伏发展的有关政策。",
            "requests": "请协调供电公司尽快批复接入系统方案，安排并网验收。",
            "suggested_departments": ["市能源局", "国网乌海供电公司"],
            "meeting_format": "现场会",
            "declarations.judicial": False,
            "declarations.discipline": False,
            "declarations.petition": False,
            "declarations.proposal": False,
            "signed_date": "2024-03-08",
        },
    },
    "C": {
        "input": {
            "enterprise_name": "乌海市堃达物流有限公司",
            "credit_code": "91150302MA0R8D1G4D",
            "district": "海勃湾区",
            "enterprise_types": "其他",
            "industry": "道路货物运输",
            "legal_representative": "刘堃",
            "contact_name": "陈晓明",
            "contact_title": "副总经理",
            "contact_phone": "13847312345",
            "contact_email": "chenxm@kunda56.com",
            "attendees": "刘堃（董事长）、陈晓明（副总经理）、周敏（财务总监）",
            "field": "交通物流",
            "title": "物流园区货车通行证办理",
            "facts": "我公司物流园位于海勃湾区千里山镇，承担煤炭及化工产品中转业务。"
                     "货车进入城区配送需办理通行证，现行办理周期长、名额少，影响企业正常运营。",
            "reasons": "",
            "requests": "希望优化货车通行证办理流程，适当增加配送车辆通行名额。",
            "suggested_departments": "市公安局交通管理支队",
            "meeting_format": "走访企业",
            "declarations.judicial": "否",
            "declarations.discipline": "否",
            "declarations.petition": "否",
            "declarations.proposal": "否",
            "signed_date": "2024年3月12日",
        },
        "expect": {
            "enterprise_name": "乌海市堃达物流有限公司",
            "credit_code": "91150302MA0R8D1G4D",
            "district": "海勃湾区",
            "enterprise_types": ["其他"],
            "industry": "道路货物运输",
            "legal_representative": "刘堃",
            "contact_name": "陈晓明",
            "contact_title": "副总经理",
            "contact_phone": "13847312345",
            "contact_email": "chenxm@kunda56.com",
            "attendees": ["刘堃（董事长）", "陈晓明（副总经理）", "周敏（财务总监）"],
            "field": "交通物流",
            "title": "物流园区货车通行证办理",
            "facts": "我公司物流园位于海勃湾区千里山镇，承担煤炭及化工产品中转业务。"
                     "货车进入城区配送需办理通行证，现行办理周期长、名额少，影响企业正常运营。",
            "reasons": None,
            "requests": "希望优化货车通行证办理流程，适当增加配送车辆通行名额。",
            "suggested_departments": ["市公安局交通管理支队"],
            "meeting_format": "走访企业",
            "declarations.judicial": False,
            "declarations.discipline": False,
            "declarations.petition": False,
            "declarations.proposal": False,
            "signed_date": "2024-03-12",
        },
    },
    "D": {
        "input": {
            "enterprise_name": "乌海市黄河焦化煤业有限公司",
            "credit_code": "911503037011894523",
            "district": "海南区",
            "enterprise_types": "规上企业",
            "industry": "煤炭开采和洗选业",
            "legal_representative": "高志强",
            "contact_name": "马俊",
            "contact_title": "安全环保部部长",
            "contact_phone": "15947367788",
            "contact_email": "majun@hhjh-coal.com",
            "attendees": "高志强 董事长",
            "field": "生态环境",
            "title": "煤矸石综合利用项目环评审批",
            "facts": "我公司拟建设煤矸石综合利用制砖项目，年消纳煤矸石30万吨，环评文件已受理三个月，尚未组织技术评审。",
            "reasons": "项目属于资源综合利用，符合自治区固体废物污染防治有关要求。",
            "requests": "请市生态环境局加快组织技术评审。",
            "suggested_departments": "市生态环境局",
            "meeting_format": "座谈会",
            "declarations.judicial": "否",
            "declarations.discipline": "否",
            "declarations.petition": "是",
            "declarations.proposal": "否",
            "signed_date": "2024-03-15",
        },
        "expect": {
            "enterprise_name": "乌海市黄河焦化煤业有限公司",
            "credit_code": "911503037011894523",
            "district": "海南区",
            "enterprise_types": ["规上企业"],
            "industry": "煤炭开采和洗选业",
            "legal_representative": "高志强",
            "contact_name": "马俊",
            "contact_title": "安全环保部部长",
            "contact_phone": "15947367788",
            "contact_email": "majun@hhjh-coal.com",
            "attendees": ["高志强 董事长"],
            "field": "生态环境",
            "title": "煤矸石综合利用项目环评审批",
            "facts": "我公司拟建设煤矸石综合利用制砖项目，年消纳煤矸石30万吨，环评文件已受理三个月，尚未组织技术评审。",
            "reasons": "项目属于资源综合利用，符合自治区固体废物污染防治有关要求。",
            "requests": "请市生态环境局加快组织技术评审。",
            "suggested_departments": ["市生态环境局"],
            "meeting_format": "座谈会",
            "declarations.judicial": False,
            "declarations.discipline": False,
            "declarations.petition": True,
            "declarations.proposal": False,
            "signed_date": "2024-03-15",
        },
    },
    "E": {
        "input": {
            "enterprise_name": "乌海市乌达区苏海图村股份经济合作社",
            "credit_code": "N2150304MF0C6H3K15",
            "district": "乌达区",
            "enterprise_types": "",
            "industry": "葡萄种植与加工",
            "legal_representative": "苏和",
            "contact_name": "其木格",
            "contact_title": "会计",
            "contact_phone": "13614738899",
            "contact_email": "qimuge@163.com",
            "attendees": "苏和（理事长）",
            "field": "农业农村",
            "title": "葡萄酒庄建设用地手续办理",
            "facts": "合作社拟利用村集体建设用地建设葡萄酒庄，用地手续办理中涉及规划调整，进展缓慢。",
            "reasons": "",
            "requests": "请协调自然资源部门指导办理集体经营性建设用地入市手续。",
            "suggested_departments": "市自然资源局、乌达区人民政府",
            "meeting_format": "现场会",
            "declarations.judicial": "否",
            "declarations.discipline": "否",
            "declarations.petition": "否",
            "declarations.proposal": "否",
            "signed_date": "2024年3月18日",
        },
        "expect": {
            "enterprise_name": "乌海市乌达区苏海图村股份经济合作社",
            "credit_code": "N2150304MF0C6H3K15",
            "district": "乌达区",
            "enterprise_types": [],
            "industry": "葡萄种植与加工",
            "legal_representative": "苏和",
            "contact_name": "其木格",
            "contact_title": "会计",
            "contact_phone": "13614738899",
            "contact_email": "qimuge@163.com",
            "attendees": ["苏和（理事长）"],
            "field": "农业农村",
            "title": "葡萄酒庄建设用地手续办理",
            "facts": "合作社拟利用村集体建设用地建设葡萄酒庄，用地手续办理中涉及规划调整，进展缓慢。",
            "reasons": None,
            "requests": "请协调自然资源部门指导办理集体经营性建设用地入市手续。",
            "suggested_departments": ["市自然资源局", "乌达区人民政府"],
            "meeting_format": "现场会",
            "declarations.judicial": False,
            "declarations.discipline": False,
            "declarations.petition": False,
            "declarations.proposal": False,
            "signed_date": "2024-03-18",
        },
    },
}

# ============================================================== label spellings (hand-written)

CANONICAL = {key: label for label, key in CANONICAL_LABELS}
LABEL_STYLES = {
    "canonical": CANONICAL,
    "traditional": {
        "enterprise_name": "企業名稱", "credit_code": "統一社會信用代碼", "district": "所屬地區",
        "enterprise_types": "企業類型", "industry": "所屬行業", "legal_representative": "法定代表人",
        "contact_name": "聯繫人", "contact_title": "職務", "contact_phone": "聯繫電話",
        "contact_email": "電子郵箱", "attendees": "參加接待人員", "field": "訴求領域",
        "title": "訴求標題", "facts": "基本情況", "reasons": "理由依據", "requests": "具體請求",
        "suggested_departments": "建議解決部門", "meeting_format": "接待形式",
        "declarations.judicial": "是否已進入司法程序、行政復議或仲裁程序",
        "declarations.discipline": "是否已由紀委監委受理",
        "declarations.petition": "是否已通過信訪渠道反映",
        "declarations.proposal": "是否已列入人大建議、政協提案辦理", "signed_date": "填報日期",
    },
    "spaced": {
        "enterprise_name": "企 业 名 称", "credit_code": "统一社会信用代码 ", "district": "所　属　地　区",
        "enterprise_types": "企业　类型", "industry": " 所属行业", "legal_representative": "法定代表人　",
        "contact_name": "联　系　人", "contact_title": "职　　务", "contact_phone": "联 系 电 话",
        "contact_email": "电 子 邮 箱", "attendees": "参加接待人员", "field": "诉 求 领 域",
        "title": "诉 求 标 题", "facts": "基 本 情 况", "reasons": "理 由 依 据", "requests": "具 体 请 求",
        "suggested_departments": "建议解决部门", "meeting_format": "接 待 形 式",
        "declarations.judicial": "是否已进入司法程序、行政复议或仲裁程序",
        "declarations.discipline": "是否已由纪委监委受理",
        "declarations.petition": "是否已通过信访渠道反映",
        "declarations.proposal": "是否已列入人大建议、政协提案办理", "signed_date": "填 报 日 期",
    },
    "asterisk": {
        "enterprise_name": "*企业名称：", "credit_code": "＊统一社会信用代码:", "district": "*所属地区",
        "enterprise_types": "企业类型：", "industry": "所属行业：", "legal_representative": "法定代表人:",
        "contact_name": "*联系人：", "contact_title": "职务：", "contact_phone": "*联系电话：",
        "contact_email": "电子邮箱：", "attendees": "参加接待人员（不超过3人）：", "field": "*诉求领域：",
        "title": "诉求标题：", "facts": "*基本情况：", "reasons": "理由依据：", "requests": "*具体请求：",
        "suggested_departments": "建议解决部门：", "meeting_format": "接待形式：",
        "declarations.judicial": "*是否已进入司法程序、行政复议或仲裁程序？",
        "declarations.discipline": "*是否已由纪委监委受理？",
        "declarations.petition": "*是否已通过信访渠道反映？",
        "declarations.proposal": "*是否已列入人大建议、政协提案办理？", "signed_date": "填报日期：",
    },
    "alias": {
        "enterprise_name": "单位名称", "credit_code": "信用代码", "district": "所在区",
        "enterprise_types": "企业类别", "industry": "行业类别", "legal_representative": "法人代表",
        "contact_name": "来访人", "contact_title": "联系人职务", "contact_phone": "手机",
        "contact_email": "邮箱", "attendees": "来访人员", "field": "诉求类别", "title": "主题",
        "facts": "问题描述", "reasons": "诉求理由", "requests": "诉求事项",
        "suggested_departments": "建议承办单位", "meeting_format": "希望接待方式",
        "declarations.judicial": "是否涉及诉讼或仲裁",
        "declarations.discipline": "是否经纪检监察机关受理",
        "declarations.petition": "有无信访",
        "declarations.proposal": "是否为人大代表建议或政协委员提案", "signed_date": "日期",
    },
}
KEYS = [key for _, key in CANONICAL_LABELS]
BLOCKS = ("facts", "reasons", "requests", "attendees")


@dataclass
class Boxes:
    """Tick boxes drawn in Word: content controls, legacy form fields or symbol-font glyphs."""
    options: tuple[str, ...]
    checked: tuple[str, ...]
    kind: str = "sdt"  # sdt | legacy | wingdings


@dataclass
class Case:
    name: str
    layout: str
    profile: str
    note: str
    labels: str = "canonical"
    values: dict = field(default_factory=dict)  # key -> value as written (overrides the profile)
    expect: dict = field(default_factory=dict)  # key -> expected (overrides the profile), BY HAND
    post: tuple[str, ...] = ()

    def rows(self) -> list[tuple[str, str, object]]:
        """(key, label as printed, value as written) in form order."""
        labels = LABEL_STYLES[self.labels]
        values = {**PROFILES[self.profile]["input"], **self.values}
        return [(key, labels[key], values[key]) for key in KEYS]

    def expected(self) -> dict:
        flat = {**PROFILES[self.profile]["expect"], **self.expect}
        result = Form().to_json()
        for key, value in flat.items():
            if key.startswith("declarations."):
                result["declarations"][key.split(".")[1]] = value
            else:
                result[key] = value
        return result


YN = ("是", "否")
NO = ("否",)
TYPES = ("规上企业", "上市后备企业", "高新技术企业", "其他")
FORMATS = ("座谈会", "现场会", "早餐会", "走访企业")
DISTRICTS = ("海勃湾区", "乌达区", "海南区")


def decl(value) -> dict:
    return {f"declarations.{key}": value for key in DECL}


# ============================================================== the cases (expected values BY HAND)

CASES = [
    # ---------------- xlsx
    Case("x01_canonical_two_col", "x_two", "A", "canonical labels, label in A and value in B"),
    Case("x02_four_col", "x_four", "B", "two label/value pairs per row, long fields merged B:D"),
    Case("x03_label_value_same_cell", "x_inline", "C", "label and value in one cell after a colon"),
    Case("x04_spaced_labels", "x_two", "A", "labels padded with ASCII and full-width spaces",
         labels="spaced", values={"contact_phone": "139 0473 1234"},
         expect={"contact_phone": "13904731234"}),
    Case("x05_traditional_labels", "x_two", "B", "labels typed in traditional characters",
         labels="traditional", values={"signed_date": "2024年 3月 8日"}),
    Case("x06_asterisk_colon_labels", "x_four", "C", "asterisks, trailing colons, full-width punctuation",
         labels="asterisk", values={"contact_phone": "（0473）3125678"},
         expect={"contact_phone": "0473-3125678"}),
    Case("x07_aliases", "x_two", "D", "alias labels, including the short 日期 and 手机",
         labels="alias", values={"signed_date": "2024.3.15"}),
    Case("x08_merged_cells", "x_merged", "A", "title merged, values merged B:D, blocks merged over rows"),
    Case("x09_form_on_second_sheet", "x_second_sheet", "B", "a cover sheet first, the form second"),
    Case("x10_wps_dimension", "x_two", "C", "WPS writes <dimension ref=\"A1\"/>", post=("wps_dimension",)),
    Case("x11_numbers_and_date_cells", "x_two", "D", "credit code as a number, phone as a float, date cell",
         values={"credit_code": 911503037011894523, "contact_phone": 15947367788.0,
                 "signed_date": dt.datetime(2024, 3, 15)}, post=("numbers",)),
    Case("x12_checkbox_glyphs_before", "x_two", "B", "☑/□ written before the options",
         values={"district": "□海勃湾区 ☑乌达区 □海南区",
                 "enterprise_types": "□规上企业 ☑上市后备企业 □高新技术企业 □其他",
                 "meeting_format": "□座谈会 ☑现场会 □早餐会 □走访企业", **decl("□是 ☑否")}),
    Case("x13_checkbox_glyphs_after", "x_two", "C", "marks written after the options: 是□ 否√",
         values={"enterprise_types": "规上企业□ 其他√", **decl("是□ 否√")}),
    Case("x14_check_mark_variants", "x_four", "D", "✓ ✔ ■ and 是（ ）否（√）",
         values={"declarations.judicial": "□是 ✓否", "declarations.discipline": "□是 ✔否",
                 "declarations.petition": "■是 □否", "declarations.proposal": "是（ ）否（√）"}),
    Case("x15_dropdown_yes_no", "x_two", "E", "是/否 chosen from a data-validation dropdown",
         post=("yes_no_validation",)),
    Case("x16_plain_no_words", "x_two", "A", "无 / 没有 / 否 as plain answers",
         values={"declarations.judicial": "无", "declarations.discipline": "没有",
                 "declarations.proposal": "无"}),
    Case("x17_empty_phone_then_email_label", "x_two", "B", "an empty 联系电话 followed by the 电子邮箱 label",
         values={"contact_phone": ""}, expect={"contact_phone": None}),
    Case("x18_empty_phone_four_col", "x_four", "C", "empty 联系电话 whose right neighbour is the label 电子邮箱",
         values={"contact_phone": None}, expect={"contact_phone": None}),
    Case("x19_credit_code_lower_spaced", "x_two", "A", "credit code in lower case with spaces",
         values={"credit_code": "91150303 ma0n 2k8l 3r"}),
    Case("x20_credit_code_letter_o", "x_two", "C", "the letter O typed for zero",
         values={"credit_code": "91150302MAOR8D1G4D"}),
    Case("x21_district_with_city", "x_two", "C", "乌海市海勃湾区 and a compact date 20240312",
         values={"district": "乌海市海勃湾区", "signed_date": "20240312"}),
    Case("x22_blocks_below", "x_blocks_below", "D", "block labels as headings, their text in rows below",
         values={"requests": "1. 请市生态环境局加快组织技术评审。\n2. 请明确审批时限。"},
         expect={"requests": "1. 请市生态环境局加快组织技术评审。\n2. 请明确审批时限。"}),
    Case("x23_offset_reordered", "x_offset", "E", "form starting at B4, sections reordered, rows inserted"),
    Case("x24_invalid_date_unknown_district", "x_two", "A", "2月30日 and an unknown place stay as written",
         values={"signed_date": "2024年2月30日", "district": "拉僧庙镇"},
         expect={"signed_date": "2024年2月30日", "district": "拉僧庙镇"}),
    Case("x25_xlsm_macro_enabled", "x_two", "B", "macro-enabled workbook read as data", post=("xlsm",)),
    Case("x26_fullwidth_digits", "x_two", "E", "full-width digits and @ in phone and e-mail",
         values={"contact_phone": "１３６１４７３８８９９", "contact_email": "qimuge＠163.com"}),
    Case("x27_plus86_phone", "x_four", "A", "+86 before a spaced mobile number",
         values={"contact_phone": "+86 139 0473 1234"}),
    Case("x28_em_dash_landline", "x_four", "B", "landline written with an em dash",
         values={"contact_phone": "0473—8991510"}),
    Case("x29_chinese_numeral_date", "x_two", "C", "二〇二四年三月十二日",
         values={"signed_date": "二〇二四年三月十二日"}),
    Case("x30_slash_date_attendee_lines", "x_two", "D", "2024/3/15 and attendees on numbered lines",
         values={"signed_date": "2024/3/15", "attendees": "1、高志强 董事长\n2、马俊 安全环保部部长"},
         expect={"attendees": ["高志强 董事长", "马俊 安全环保部部长"]}),
    # ---------------- docx
    Case("d01_canonical_table", "d_table2", "A", "canonical two-column table, Word checkboxes for 是/否",
         values=decl(Boxes(YN, NO))),
    Case("d02_four_col_table", "d_table4", "B", "two pairs per row, long fields merged across"),
    Case("d03_paragraphs_no_table", "d_paragraphs", "C", "label：value paragraphs, facts over two paragraphs",
         values={"facts": "我公司物流园位于海勃湾区千里山镇，承担煤炭及化工产品中转业务。\n"
                          "货车进入城区配送需办理通行证，现行办理周期长、名额少，影响企业正常运营。"},
         expect={"facts": "我公司物流园位于海勃湾区千里山镇，承担煤炭及化工产品中转业务。\n"
                          "货车进入城区配送需办理通行证，现行办理周期长、名额少，影响企业正常运营。"}),
    Case("d04_merged_cells", "d_merged", "D", "gridSpan values and vMerge block labels"),
    Case("d05_word_checkbox_controls", "d_table2", "E", "w14:checkbox controls for every choice",
         values={"district": Boxes(DISTRICTS, ("乌达区",)), "enterprise_types": Boxes(TYPES, ()),
                 "meeting_format": Boxes(FORMATS, ("现场会",)), **decl(Boxes(YN, NO))}),
    Case("d06_glyphs_before", "d_table2", "A", "☐是 ☑否 typed as text, district ticked",
         values={"district": "□海勃湾区 □乌达区 ☑海南区", **decl("☐是 ☑否")}),
    Case("d07_glyphs_after", "d_table2", "B", "是□ 否☑ with marks after the options",
         values={"enterprise_types": "规上企业□ 上市后备企业☑", **decl("是□ 否☑")}),
    Case("d08_traditional_labels", "d_table2", "C", "traditional-character labels", labels="traditional"),
    Case("d09_spaced_labels", "d_table4", "D", "spaced and full-width-spaced labels", labels="spaced",
         values={"contact_phone": "159 4736 7788"}),
    Case("d10_aliases", "d_table2", "E", "alias labels", labels="alias",
         values={"signed_date": "2024/3/18"}),
    Case("d11_legacy_formfield_checkbox", "d_table2", "A", "FORMCHECKBOX fields of old Word forms",
         values={"enterprise_types": Boxes(TYPES, ("规上企业", "高新技术企业"), "legacy"),
                 **decl(Boxes(YN, NO, "legacy"))}),
    Case("d12_wingdings_boxes", "d_table2", "B", "boxes from the Wingdings / Wingdings 2 fonts",
         values={"meeting_format": Boxes(FORMATS, ("现场会",), "wingdings"),
                 **decl(Boxes(YN, NO, "wingdings"))}),
    Case("d13_blocks_below", "d_blocks_below", "C", "block headings with the text in the row below"),
    Case("d14_text_content_controls", "d_controls", "D", "values in content controls, one left as placeholder",
         values={"reasons": None}, expect={"reasons": None}),
    Case("d15_nested_layout_table", "d_nested", "E", "the form table nested in a one-cell layout table"),
    Case("d16_label_value_same_cell", "d_inline", "A", "label：value in a one-column table"),
    Case("d17_empty_phone_then_email", "d_table2", "B", "empty 联系电话 followed by 电子邮箱",
         values={"contact_phone": ""}, expect={"contact_phone": None}),
    Case("d18_landline_with_space", "d_table2", "C", "landline written 0473 3125678 and an ISO date",
         values={"contact_phone": "0473 3125678", "signed_date": "2024-03-12"},
         expect={"contact_phone": "0473-3125678"}),
    Case("d19_docm_macro_enabled", "d_table2", "D", "macro-enabled document read as data", post=("docm",)),
    Case("d20_credit_code_lower_spaced", "d_table2", "E", "letter-first credit code in lower case with spaces",
         values={"credit_code": "n215 0304 mf0c 6h3k 15"}),
    Case("d21_checked_box_x", "d_table4", "A", "☒ as the ticked box, □ as the empty one",
         values={"meeting_format": "☒座谈会 □现场会 □早餐会 □走访企业", **decl("□是 ☒否")}),
    Case("d22_section_rows_inserted", "d_sections", "B", "section headings and notes between the fields",
         labels="asterisk"),
    Case("d23_chinese_date_plus86", "d_paragraphs", "E", "二〇二四年三月十八日 and +86 mobile",
         values={"signed_date": "二〇二四年三月十八日", "contact_phone": "+86 136 1473 8899"}),
    # ---------------- typed into a mail body (.txt)
    Case("t01_mail_body", "t_body", "A", "label：value lines in a mail body, with greeting and signature"),
    Case("t02_mail_body_spaced", "t_body_spaced", "C", "label and value separated by spaces or next line",
         values={"signed_date": "2024-3-12"}),
]


# ============================================================== writers: xlsx

def _xlsx_value(value):
    return None if value in ("", None) else value


def _new_workbook():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    workbook.properties.creator = "make_form_goldens"
    return workbook


def x_two(sheet, case: Case, row: int = 1, col: int = 1) -> int:
    for key, label, value in case.rows():
        sheet.cell(row=row, column=col, value=label)
        sheet.cell(row=row, column=col + 1, value=_xlsx_value(value))
        row += 1
    return row


def x_four(sheet, case: Case) -> None:
    row, pending = 1, []
    for key, label, value in case.rows():
        if key in BLOCKS or key.startswith("declarations."):
            row = _flush_pairs(sheet, row, pending)
            sheet.cell(row=row, column=1, value=label)
            sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
            sheet.cell(row=row, column=2, value=_xlsx_value(value))
            row += 1
        else:
            pending.append((label, value))
            if len(pending) == 2:
                row = _flush_pairs(sheet, row, pending)
    _flush_pairs(sheet, row, pending)


def _flush_pairs(sheet, row: int, pending: list) -> int:
    if not pending:
        return row
    for index, (label, value) in enumerate(pending):
        sheet.cell(row=row, column=1 + 2 * index, value=label)
        sheet.cell(row=row, column=2 + 2 * index, value=_xlsx_value(value))
    pending.clear()
    return row + 1


def x_inline(sheet, case: Case) -> None:
    for row, (key, label, value) in enumerate(case.rows(), start=1):
        sheet.cell(row=row, column=1, value=f"{label}：{value}")


def x_merged(sheet, case: Case) -> None:
    sheet.merge_cells("A1:D1")
    sheet["A1"] = "来访企业预约登记表"
    row = 2
    for key, label, value in case.rows():
        height = 3 if key in BLOCKS else 1
        sheet.merge_cells(start_row=row, start_column=1, end_row=row + height - 1, end_column=1)
        sheet.merge_cells(start_row=row, start_column=2, end_row=row + height - 1, end_column=4)
        sheet.cell(row=row, column=1, value=label)
        sheet.cell(row=row, column=2, value=_xlsx_value(value))
        row += height


def x_second_sheet(workbook, case: Case) -> None:
    cover = workbook.active
    cover.title = "封面"
    cover["A1"] = "市长服务民营企业接待日报名材料"
    cover["A3"] = "报送单位：" + PROFILES[case.profile]["input"]["enterprise_name"]
    cover["A4"] = "请见第二个工作表“登记表”。"
    x_two(workbook.create_sheet("登记表"), case)


def x_blocks_below(sheet, case: Case) -> None:
    row = 1
    for key, label, value in case.rows():
        if key in BLOCKS:
            sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
            sheet.cell(row=row, column=1, value=label)
            for line in str(value).split("\n"):
                row += 1
                sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
                sheet.cell(row=row, column=1, value=line)
        else:
            sheet.cell(row=row, column=1, value=label)
            sheet.cell(row=row, column=2, value=_xlsx_value(value))
        row += 1


def x_offset(sheet, case: Case) -> None:
    sheet["B2"] = "附件2  来访企业预约登记表"
    rows = case.rows()
    declarations = [r for r in rows if r[0].startswith("declarations.")]
    others = [r for r in rows if not r[0].startswith("declarations.")]
    row = 4
    sheet.cell(row=row, column=2, value="一、事项声明（请如实填写）")
    for key, label, value in declarations:
        row += 1
        sheet.cell(row=row, column=2, value=label)
        sheet.cell(row=row, column=4, value=_xlsx_value(value))  # a blank column between
    row += 2
    sheet.cell(row=row, column=2, value="二、企业及诉求信息")
    for key, label, value in others:
        row += 1
        sheet.cell(row=row, column=2, value=label)
        sheet.cell(row=row, column=3, value=_xlsx_value(value))


XLSX_LAYOUTS = {"x_two": x_two, "x_four": x_four, "x_inline": x_inline, "x_merged": x_merged,
                "x_blocks_below": x_blocks_below, "x_offset": x_offset}


def write_xlsx(case: Case) -> bytes:
    workbook = _new_workbook()
    if case.layout == "x_second_sheet":
        x_second_sheet(workbook, case)
    else:
        workbook.active.title = "登记表"
        XLSX_LAYOUTS[case.layout](workbook.active, case)
    if "yes_no_validation" in case.post:
        _yes_no_validation(workbook.active, case)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _yes_no_validation(sheet, case: Case) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    rule = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    sheet.add_data_validation(rule)
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value in YN:
                rule.add(cell.coordinate)


# ============================================================== writers: docx

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _new_document():
    from docx import Document

    document = Document()
    document.core_properties.created = document.core_properties.modified = FIXED_TIME
    document.core_properties.author = "make_form_goldens"
    document.core_properties.last_modified_by = "make_form_goldens"
    return document


def _put(cell_or_paragraph, value) -> None:
    """Write a value into a table cell (or paragraph): text, or tick boxes."""
    paragraph = cell_or_paragraph.paragraphs[0] if hasattr(cell_or_paragraph, "paragraphs") \
        else cell_or_paragraph
    if isinstance(value, Boxes):
        _boxes(paragraph, value)
        return
    lines = [] if value in ("", None) else str(value).split("\n")
    for index, line in enumerate(lines):
        target = paragraph if index == 0 else cell_or_paragraph.add_paragraph()
        target.add_run(line)


def _boxes(paragraph, boxes: Boxes) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    from bot.forms.blank import checkbox_sdt

    for index, option in enumerate(boxes.options):
        on = option in boxes.checked
        if index:
            paragraph.add_run(" ")
        if boxes.kind == "sdt":
            paragraph._p.append(checkbox_sdt(on))
        elif boxes.kind == "legacy":
            for xml in _legacy_checkbox_runs(on):
                paragraph._p.append(parse_xml(xml))
        else:  # wingdings: a w:sym from Wingdings 2, or a Wingdings-font run
            xml = (f'<w:r {nsdecls("w")}><w:sym w:font="Wingdings 2" w:char="{"F052" if on else "F0A3"}"/></w:r>'
                   if index % 2 == 0 else
                   f'<w:r {nsdecls("w")}><w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings"/></w:rPr>'
                   f'<w:t>{"þ" if on else "¨"}</w:t></w:r>')
            paragraph._p.append(parse_xml(xml))
        paragraph.add_run(option)


def _legacy_checkbox_runs(on: bool) -> list[str]:
    from docx.oxml.ns import nsdecls

    state = "<w:checked/>" if on else ""
    return [
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/>'
        f'<w:enabled/><w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/><w:default w:val="0"/>{state}'
        '</w:checkBox></w:ffData></w:fldChar></w:r>',
        f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>',
        f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>',
    ]


def _title(document) -> None:
    document.add_paragraph("附件2")
    document.add_paragraph("来访企业预约登记表")


def d_table2(document, case: Case) -> None:
    _title(document)
    rows = case.rows()
    table = document.add_table(rows=len(rows), cols=2)
    for row, (key, label, value) in zip(table.rows, rows):
        row.cells[0].text = label
        _put(row.cells[1], value)


def d_table4(document, case: Case) -> None:
    _title(document)
    table = document.add_table(rows=0, cols=4)
    pending = []
    for key, label, value in case.rows():
        if key in BLOCKS or key.startswith("declarations."):
            _docx_pairs(table, pending)
            cells = table.add_row().cells
            cells[0].text = label
            merged = cells[1].merge(cells[3])
            _put(merged, value)
        else:
            pending.append((label, value))
            if len(pending) == 2:
                _docx_pairs(table, pending)
    _docx_pairs(table, pending)


def _docx_pairs(table, pending: list) -> None:
    if not pending:
        return
    cells = table.add_row().cells
    for index, (label, value) in enumerate(pending):
        cells[2 * index].text = label
        _put(cells[2 * index + 1], value)
    pending.clear()


def d_paragraphs(document, case: Case) -> None:
    _title(document)
    for key, label, value in case.rows():
        lines = [] if value in ("", None) else str(value).split("\n")
        document.add_paragraph(f"{label}：{lines[0] if lines else ''}")
        for line in lines[1:]:
            document.add_paragraph(line)
    document.add_paragraph("（企业盖章）")


def d_merged(document, case: Case) -> None:
    _title(document)
    table = document.add_table(rows=0, cols=4)
    for key, label, value in case.rows():
        first = table.add_row().cells
        if key in BLOCKS:
            second = table.add_row().cells
            first[0].merge(second[0]).text = label
            _put(first[1].merge(second[3]), value)
        else:
            first[0].text = label
            _put(first[1].merge(first[3]), value)


def d_blocks_below(document, case: Case) -> None:
    _title(document)
    table = document.add_table(rows=0, cols=2)
    for key, label, value in case.rows():
        cells = table.add_row().cells
        if key in BLOCKS:
            cells[0].merge(cells[1]).text = label
            below = table.add_row().cells
            _put(below[0].merge(below[1]), value)
        else:
            cells[0].text = label
            _put(cells[1], value)


def d_controls(document, case: Case) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    _title(document)
    rows = case.rows()
    table = document.add_table(rows=len(rows), cols=2)
    for row, (key, label, value) in zip(table.rows, rows):
        row.cells[0].text = label
        text = "" if value in ("", None) else str(value)
        placeholder = not text
        shown = "单击或点击此处输入文字。" if placeholder else text
        pr = "<w:showingPlcHdr/>" if placeholder else ""
        sdt = (f'<w:sdt {nsdecls("w")}><w:sdtPr><w:alias w:val="{label}"/>{pr}<w:text/></w:sdtPr>'
               f'<w:sdtContent><w:r><w:t>{shown}</w:t></w:r></w:sdtContent></w:sdt>')
        if key == "facts":  # a block-level control wrapping the cell's paragraph
            cell = row.cells[1]._tc
            cell.remove(cell.p_lst[0])
            cell.append(parse_xml(
                f'<w:sdt {nsdecls("w")}><w:sdtPr><w:alias w:val="{label}"/></w:sdtPr><w:sdtContent>'
                f'<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:sdtContent></w:sdt>'))
        else:
            row.cells[1].paragraphs[0]._p.append(parse_xml(sdt))


def d_nested(document, case: Case) -> None:
    outer = document.add_table(rows=1, cols=1)
    cell = outer.rows[0].cells[0]
    cell.paragraphs[0].add_run("附件2 来访企业预约登记表")
    rows = case.rows()
    inner = cell.add_table(rows=len(rows), cols=2)
    for row, (key, label, value) in zip(inner.rows, rows):
        row.cells[0].text = label
        _put(row.cells[1], value)


def d_inline(document, case: Case) -> None:
    _title(document)
    rows = case.rows()
    table = document.add_table(rows=len(rows), cols=1)
    for row, (key, label, value) in zip(table.rows, rows):
        row.cells[0].text = f"{label}：{'' if value is None else value}"


def d_sections(document, case: Case) -> None:
    _title(document)
    table = document.add_table(rows=0, cols=2)
    headings = {"enterprise_name": "一、企业基本信息", "attendees": "二、来访人员",
                "field": "三、诉求信息", "declarations.judicial": "四、事项声明（请如实勾选）"}
    for key, label, value in case.rows():
        if key in headings:
            cells = table.add_row().cells
            cells[0].merge(cells[1]).text = headings[key]
        cells = table.add_row().cells
        cells[0].text = label
        _put(cells[1], value)
    cells = table.add_row().cells
    cells[0].merge(cells[1]).text = "注：以上信息仅用于接待日工作安排。"


DOCX_LAYOUTS = {"d_table2": d_table2, "d_table4": d_table4, "d_paragraphs": d_paragraphs,
                "d_merged": d_merged, "d_blocks_below": d_blocks_below, "d_controls": d_controls,
                "d_nested": d_nested, "d_inline": d_inline, "d_sections": d_sections}


def write_docx(case: Case) -> bytes:
    document = _new_document()
    DOCX_LAYOUTS[case.layout](document, case)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ============================================================== writers: mail body

def write_body(case: Case) -> bytes:
    lines = ["您好！", "我公司申请参加市长服务民营企业接待日，登记信息如下：", ""]
    spaced = case.layout == "t_body_spaced"
    for index, (key, label, value) in enumerate(case.rows()):
        text = "" if value is None else str(value)
        if spaced and index % 3 == 1:
            lines += [label, text]  # value on the next line
        elif spaced and index % 3 == 2 and "\n" not in text and text:
            lines.append(f"{label}  {text}")
        else:
            lines.append(f"{label}：{text}")
    lines += ["", "此致", "敬礼！", "-- ", PROFILES[case.profile]["input"]["contact_name"]]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ============================================================== post-processing of the zip

def rezip(data: bytes, edits: dict | None = None, extra: dict | None = None) -> bytes:
    """Rewrite a zip with fixed timestamps (deterministic bytes), applying edits to members."""
    edits, extra = edits or {}, extra or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            if name in edits:
                content = edits[name](content)
            target.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6]), content,
                            compress_type=zipfile.ZIP_DEFLATED)
        for name, content in extra.items():
            target.writestr(zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6]), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _set_dimension_a1(content: bytes) -> bytes:
    import re

    return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', content)


def _numbers_as_written(content: bytes) -> bytes:
    """The phone as a float (as WPS writes it) and the code as an exact integer (openpyxl would
    write a float and lose digits, exactly like Excel with a code typed as a number)."""
    content = content.replace(b"<v>15947367788</v>", b"<v>1.5947367788E10</v>")
    return content.replace(b"<v>9.115030370118945e+17</v>", b"<v>911503037011894523</v>")


def _macro_types(kind: str):
    def edit(content: bytes) -> bytes:
        if kind == "xlsm":
            content = content.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        else:
            content = content.replace(
                b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                b"application/vnd.ms-word.document.macroEnabled.main+xml")
        return content.replace(b"</Types>", b'<Default Extension="bin" '
                               b'ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    return edit


def _fixed_modified(content: bytes) -> bytes:
    """openpyxl stamps the save time into docProps/core.xml; pin it for reproducible bytes."""
    import re

    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>2024-03-01T09:00:00Z\2",
                  content)


def post_process(case: Case, data: bytes) -> tuple[bytes, str]:
    edits, extra, suffix = {"docProps/core.xml": _fixed_modified}, {}, None
    if "wps_dimension" in case.post:
        edits["xl/worksheets/sheet1.xml"] = _set_dimension_a1
    if "numbers" in case.post:
        edits["xl/worksheets/sheet1.xml"] = _numbers_as_written
    if "xlsm" in case.post or "docm" in case.post:
        suffix = "xlsm" if "xlsm" in case.post else "docm"
        edits["[Content_Types].xml"] = _macro_types(suffix)
        part = "xl/vbaProject.bin" if suffix == "xlsm" else "word/vbaProject.bin"
        extra[part] = b"not a real VBA project: the reader must never look inside"
    return rezip(data, edits, extra), suffix


def build(case: Case) -> tuple[bytes, str]:
    if case.layout.startswith("t_"):
        return write_body(case), "txt"
    if case.layout.startswith("x_"):
        data, suffix = post_process(case, write_xlsx(case))
        return data, suffix or "xlsx"
    data, suffix = post_process(case, write_docx(case))
    return data, suffix or "docx"


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        data, suffix = build(case)
        (out / f"{case.name}.{suffix}").write_bytes(data)
        expected = json.dumps(case.expected(), ensure_ascii=False, indent=2) + "\n"
        (out / f"{case.name}.json").write_text(expected, encoding="utf-8")
    print(f"{len(CASES)} golden forms written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
