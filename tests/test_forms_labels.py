import pytest

from bot.forms.labels import (
    count_labels,
    find_values,
    match_label,
    normalize_label,
    split_label,
)
from bot.forms.model import CANONICAL_LABELS


@pytest.mark.parametrize("label, key", CANONICAL_LABELS)
def test_every_canonical_label_matches(label, key):
    assert match_label(label) == key


@pytest.mark.parametrize("text, key", [
    ("企 业 名 称", "enterprise_name"),
    ("联\u3000系\u3000人", "contact_name"),
    ("*联系电话：", "contact_phone"),
    ("＊统一社会信用代码:", "credit_code"),
    ("企业（单位）名称", "enterprise_name"),
    ("企业(单位)名称", "enterprise_name"),
    ("企業名稱", "enterprise_name"),
    ("聯繫電話", "contact_phone"),
    ("參加接待人員", "attendees"),
    ("参加接待人员（不超过3人）", "attendees"),
    ("【企业名称】", "enterprise_name"),
    ("1.企业名称", "enterprise_name"),
    ("日期", "signed_date"),
    ("领域", "field"),
    ("手机", "contact_phone"),
    ("理由", "reasons"),
    ("标题", "title"),
    ("事实", "facts"),
    ("E-mail", "contact_email"),
    ("是否涉及诉讼", "declarations.judicial"),
    ("是否申请行政复议？", "declarations.judicial"),
    ("已进入诉讼程序？", "declarations.judicial"),  # a question mark makes it a question too
    ("是否经纪检监察机关受理", "declarations.discipline"),
    ("是否已由紀委監委受理", "declarations.discipline"),
    ("有无信访", "declarations.petition"),
    ("信访情况", "declarations.petition"),
    ("是否为政协提案", "declarations.proposal"),
])
def test_variants_and_aliases(text, key):
    assert match_label(text) == key


@pytest.mark.parametrize("text", [
    "填报日期为2024年3月5日前",  # a sentence containing the short alias 日期
    "请在诉求领域中选择",
    "我公司手机信号差，影响生产调度",
    "已申请仲裁",  # a short value mentioning arbitration is no declaration label
    "我公司与某公司的合同纠纷已于去年提起诉讼，目前法院尚未判决，请求协调。",
    "乌海市镕鑫化工有限责任公司",
    "13904731234",
    "",
])
def test_values_are_not_labels(text):
    assert match_label(text) is None


def test_normalize_label_folds_width_spaces_and_script():
    assert normalize_label("＊所屬　地區：") == "所属地区"


@pytest.mark.parametrize("text, hit", [
    ("企业名称：乌海市镕鑫化工有限责任公司", ("enterprise_name", "乌海市镕鑫化工有限责任公司")),
    ("联系电话: 139 0473 1234", ("contact_phone", "139 0473 1234")),
    ("企业名称：", ("enterprise_name", "")),
    ("是否已通过信访渠道反映：否", ("declarations.petition", "否")),
    ("是否已通过信访渠道反映 □是 ☑否", ("declarations.petition", "□是 ☑否")),
    ("是否已通过信访渠道反映 是□ 否√", ("declarations.petition", "是□ 否√")),
    ("是否已由纪委监委受理  否", ("declarations.discipline", "否")),
    ("企业类型 ☑规上企业 □其他", ("enterprise_types", "☑规上企业 □其他")),
    ("时间：09:30", None),
    ("注：以上信息仅用于接待日工作安排。", None),
])
def test_split_label(text, hit):
    assert split_label(text) == hit


def test_value_to_the_right_skips_merged_blanks():
    grid = [["企业名称", "", "", "乌海市堃达物流有限公司"]]
    assert find_values(grid)["enterprise_name"] == "乌海市堃达物流有限公司"


def test_a_label_ends_the_value_search():
    grid = [["联系电话", "", "电子邮箱", "chenxm@kunda56.com"],
            ["联系人", "陈晓明"]]
    values = find_values(grid)
    assert values["contact_phone"] == ""
    assert values["contact_email"] == "chenxm@kunda56.com"


def test_empty_value_in_two_columns_does_not_take_the_next_label():
    grid = [["联系电话", ""], ["电子邮箱", "a@b.cn"]]
    assert find_values(grid)["contact_phone"] == ""


def test_block_label_reads_the_rows_below():
    grid = [["基本情况"], ["第一段"], ["第二段"], [""], ["具体请求", "协调供电"]]
    values = find_values(grid)
    assert values["facts"] == "第一段\n第二段"
    assert values["requests"] == "协调供电"


def test_non_block_label_never_reads_below():
    grid = [["法定代表人", ""], ["二、诉求信息"]]
    assert find_values(grid)["legal_representative"] == ""


def test_first_filled_occurrence_wins():
    grid = [["来访人员"], ["参加接待人员", "张三"], ["参加接待人员", "李四"]]
    assert find_values(grid)["attendees"] == "张三"


def test_count_labels():
    assert count_labels([["企业名称", "x"], ["说明", "联系人"], ["无关", ""]]) == 2


def test_block_text_may_start_after_a_blank_row():
    grid = [["基本情况"], [""], ["内容在空行之后"], ["具体请求", "协调供电"]]
    assert find_values(grid)["facts"] == "内容在空行之后"


def test_block_search_gives_up_after_several_blank_rows():
    grid = [["基本情况"], [""], [""], [""], ["页脚文字"]]
    assert find_values(grid)["facts"] == ""


def test_long_answers_are_read_but_not_remembered():
    """A worker reads forms as long as the daemon runs: the label caches keep short texts only, so
    thousands of long, distinct answers do not pile up in its memory."""
    from bot.forms import labels  # noqa: PLC0415 - its private caches are what is checked

    before = (labels._split_short.cache_info().currsize, labels._match_label.cache_info().currsize)
    for n in range(200):
        answer = f"我公司第{n}号项目用地手续办理遇到困难，" * 40
        assert split_label(answer) is None
        assert split_label(f"基本情况：{answer}") == ("facts", answer)
    after = (labels._split_short.cache_info().currsize, labels._match_label.cache_info().currsize)
    assert after[0] == before[0] and after[1] <= before[1] + 1  # only the label "基本情况" itself
    assert split_label("企业名称") == ("enterprise_name", "")
    assert labels._split_short.cache_info().currsize <= before[0] + 1
