import datetime as dt

import pytest

from bot.forms import normalize as n

DISTRICTS = ("海勃湾区", "乌达区", "海南区")


@pytest.mark.parametrize("value, text", [
    (None, ""),
    (13904731234.0, "13904731234"),
    (13904731234, "13904731234"),
    (911503037011894523, "911503037011894523"),
    (3.5, "3.5"),
    (dt.datetime(2024, 3, 5, 0, 0), "2024-03-05"),
    (dt.date(2024, 3, 5), "2024-03-05"),
    ("  乌海  ", "  乌海  "),
])
def test_cell_text(value, text):
    assert n.cell_text(value) == text


@pytest.mark.parametrize("raw, clean", [
    ("  乌海市镕鑫化工\u3000", "乌海市镕鑫化工"),
    ("第一段 \r\n 第二段", "第一段\n第二段"),
    ("______", None),
    ("／", None),
    ("", None),
    (None, None),
])
def test_clean(raw, clean):
    assert n.clean(raw) == clean


@pytest.mark.parametrize("raw, code", [
    ("91150303ma0n2k8l3r", "91150303MA0N2K8L3R"),
    (" 9115 0303 MA0N 2K8L 3R ", "91150303MA0N2K8L3R"),
    ("91150302MAOR8D1G4D", "91150302MA0R8D1G4D"),
    ("９１１５０３０３ＭＡ０Ｎ２Ｋ８Ｌ３Ｒ", "91150303MA0N2K8L3R"),
    ("91150303-MA0N2K8L3R", "91150303MA0N2K8L3R"),
    ("9115030 MAON", "9115030 MAON"),  # not 18 characters: kept as written for validation
    ("", None),
])
def test_credit_code(raw, code):
    assert n.normalize_credit_code(raw) == code


@pytest.mark.parametrize("raw, phone", [
    ("13904731234", "13904731234"),
    ("139 0473 1234", "13904731234"),
    ("139-0473-1234", "13904731234"),
    ("+86 139 0473 1234", "13904731234"),
    ("+8613904731234", "13904731234"),
    ("0086 13904731234", "13904731234"),
    ("１３９０４７３１２３４", "13904731234"),
    (n.cell_text(13904731234.0), "13904731234"),
    ("0473-8991510", "0473-8991510"),
    ("0473—8991510", "0473-8991510"),
    ("0473－8991510", "0473-8991510"),
    ("(0473)8991510", "0473-8991510"),
    ("（0473）8991510", "0473-8991510"),
    ("0473 8991510", "0473-8991510"),
    ("04738991510", "0473-8991510"),
    ("010-12345678", "010-12345678"),
    ("01012345678", "010-12345678"),
    ("+86 473 8991510", "0473-8991510"),
    ("0473-8991510-801", "0473-8991510-801"),
    ("13904731234 / 0473-8991510", "13904731234"),
    ("8991510", "8991510"),  # no area code: kept for validation
    ("待定", "待定"),
])
def test_phone(raw, phone):
    assert n.normalize_phone(raw) == phone


@pytest.mark.parametrize("raw, date", [
    ("2024年3月5日", "2024-03-05"),
    ("2024年 3月 5日", "2024-03-05"),
    ("2024.3.5", "2024-03-05"),
    ("2024/3/5", "2024-03-05"),
    ("2024-03-05", "2024-03-05"),
    ("20240305", "2024-03-05"),
    ("二〇二四年三月五日", "2024-03-05"),
    ("二〇二四年十二月三十一日", "2024-12-31"),
    ("二〇二四年十月二十日", "2024-10-20"),
    ("２０２４年３月５日", "2024-03-05"),
    (n.cell_text(dt.datetime(2024, 3, 5)), "2024-03-05"),
    ("45356", "2024-03-05"),  # an Excel serial that lost its date format
    ("2024年2月30日", "2024年2月30日"),
    ("2024-13-01", "2024-13-01"),
    ("三月初", "三月初"),
])
def test_date(raw, date):
    assert n.normalize_date(raw) == date


@pytest.mark.parametrize("raw, district", [
    ("海勃湾区", "海勃湾区"),
    ("乌海市海勃湾区", "海勃湾区"),
    ("内蒙古自治区乌海市乌达区", "乌达区"),
    ("海 南 区", "海南区"),
    ("乌达", "乌达区"),
    ("□海勃湾区 ☑乌达区 □海南区", "乌达区"),
    ("□海勃湾区 □乌达区 □海南区", None),
    ("阿拉善盟", "阿拉善盟"),
])
def test_district(raw, district):
    assert n.normalize_district(raw, DISTRICTS, "乌海市") == district


@pytest.mark.parametrize("raw, answer", [
    ("☑是 □否", True),
    ("□是 ☑否", False),
    ("□是 √否", False),
    ("√是 □否", True),
    ("是√", True),
    ("是√ 否□", True),
    ("是□ 否√", False),
    ("☐是 ☒否", False),
    ("■是 □否", True),
    ("▣是 □否", True),
    ("□是 ✓否", False),
    ("□是 ✔否", False),
    ("是（√）否（ ）", True),
    ("是( ) 否(√)", False),
    ("是", True),
    ("否", False),
    ("无", False),
    ("没有", False),
    ("未", False),
    ("否。", False),
    ("□是 □否", None),
    ("☑是 ☑否", None),
    ("是/否", None),
    ("", None),
    ("不清楚", None),
])
def test_yes_no(raw, answer):
    assert n.parse_yes_no(raw) is answer


def test_checkboxes_keep_option_order_and_state():
    assert n.parse_checkboxes("☑规上企业 □上市后备企业 ☑高新技术企业") == [
        ("规上企业", True), ("上市后备企业", False), ("高新技术企业", True)]
    assert n.parse_checkboxes("没有方框") is None


@pytest.mark.parametrize("raw, types", [
    ("☑规上企业 □上市后备企业 ☑高新技术企业 □其他", ["规上企业", "高新技术企业"]),
    ("规上企业、高新技术企业", ["规上企业", "高新技术企业"]),
    ("规模以上企业", ["规上企业"]),
    ("☑其他：新能源", ["其他"]),
    ("□规上企业 □其他", []),
    ("", []),
])
def test_enterprise_types(raw, types):
    assert n.parse_enterprise_types(raw) == types


@pytest.mark.parametrize("raw, items", [
    ("王镕（董事长）、李建国（办公室主任）", ["王镕（董事长）", "李建国（办公室主任）"]),
    ("张三（总经理，法人）,李四;王五；赵六", ["张三（总经理，法人）", "李四", "王五", "赵六"]),
    ("1、高志强 董事长\n2、马俊 部长", ["高志强 董事长", "马俊 部长"]),
    ("①张三\n②李四", ["张三", "李四"]),
    ("市能源局，国网乌海供电公司", ["市能源局", "国网乌海供电公司"]),
    ("", []),
])
def test_split_list(raw, items):
    assert n.split_list(raw) == items


@pytest.mark.parametrize("raw, choice", [
    ("座谈会", "座谈会"),
    ("□座谈会 ☑现场会 □早餐会", "现场会"),
    ("□座谈会 □现场会", None),
])
def test_choice(raw, choice):
    assert n.parse_choice(raw) == choice


@pytest.mark.parametrize("raw, email", [
    (" lijianguo@rongxinchem.com ", "lijianguo@rongxinchem.com"),
    ("qimuge＠163.com", "qimuge@163.com"),
    ("mailto:a@b.cn", "a@b.cn"),
])
def test_email(raw, email):
    assert n.normalize_email(raw) == email
