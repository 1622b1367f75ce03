import pytest
from stdnum.cn import uscc

from bot.forms.model import Form
from bot.forms.validate import _cached_phone_problem, credit_code_problem, phone_problem, uscc_check_char, validate

DISTRICTS = ("海勃湾区", "乌达区", "海南区")


@pytest.mark.parametrize("code", [
    "91110000600037341L",  # a published example code
    "91150303MA0N2K8L3R",
    "911503037011894523",
    "N2150304MF0C6H3K15",  # registration authority N (农业农村)
    "Y1150302MJ0X4Q5R2W",  # registration authority Y (其他)
])
def test_valid_credit_codes(code):
    assert credit_code_problem(code) is None


def test_check_character_is_computed_not_looked_up():
    # changing any of the first 17 characters changes the check character
    assert uscc_check_char("91150303MA0N2K8L3") == "R"
    assert uscc_check_char("91150303MA0N2K8L4") != "R"


def test_stdnum_rejects_letter_first_codes_which_is_why_we_check_ourselves():
    """python-stdnum 2.2 cn.uscc requires digits in the first 8 positions (a bug for N/Y codes)."""
    assert not uscc.is_valid("N2150304MF0C6H3K15")
    assert uscc.calc_check_digit("N2150304MF0C6H3K1") == "5"  # ...though its checksum agrees
    assert credit_code_problem("N2150304MF0C6H3K15") is None


@pytest.mark.parametrize("code, fragment", [
    ("91150303MA0N2K8L3X", "校验位不正确"),
    ("9115030MA0N2K8L3R", "应为18位"),
    ("91150303MA0N2K8LIR", "无效字符"),
    ("9115A303MA0N2K8L3R", "无效字符"),
])
def test_invalid_credit_codes(code, fragment):
    assert fragment in credit_code_problem(code)


def test_reason_shape_and_text():
    reasons = validate(Form(credit_code="91150303MA0N2K8L3X"), DISTRICTS)
    assert [(r.rule, r.field) for r in reasons] == [("FORM-INVALID", "credit_code")]
    assert reasons[0].text == "“统一社会信用代码”校验位不正确，请核对营业执照上的18位代码后重新填写。"


@pytest.mark.parametrize("phone, ok", [
    ("13904731234", True), ("0473-8991510", True), ("010-12345678", True),
    ("8991510", False), ("12345678901", False), ("0473-899151", False), ("待定", False)])
def test_phone(phone, ok):
    reasons = validate(Form(contact_phone=phone), DISTRICTS)
    assert (reasons == []) is ok
    if not ok:
        assert reasons[0].field == "contact_phone" and "“联系电话”" in reasons[0].text


@pytest.mark.parametrize("email, ok", [
    ("lijianguo@rongxinchem.com", True), ("a.b+c@sub.example.cn", True),
    ("lijianguo@", False), ("李建国", False), ("a@b", False)])
def test_email(email, ok):
    assert (validate(Form(contact_email=email), DISTRICTS) == []) is ok


@pytest.mark.parametrize("date, ok", [
    ("2024-03-05", True), ("2024-02-29", True), ("2024年2月30日", False), ("2023-02-29", False),
    ("下周一", False)])
def test_signed_date(date, ok):
    assert (validate(Form(signed_date=date), DISTRICTS) == []) is ok


def test_district_must_be_one_of_the_programme():
    reasons = validate(Form(district="拉僧庙镇"), DISTRICTS)
    assert [r.field for r in reasons] == ["district"]
    assert "海勃湾区、乌达区、海南区" in reasons[0].text
    assert validate(Form(district="乌达区"), DISTRICTS) == []


def test_empty_values_are_not_judged():
    assert validate(Form(), DISTRICTS) == []


def test_every_problem_at_once_in_form_order():
    form = Form(credit_code="91150303MA0N2K8L3X", district="阿拉善盟", contact_phone="123",
                contact_email="x@", signed_date="2024年2月30日")
    fields = [r.field for r in validate(form, DISTRICTS)]
    assert fields == ["credit_code", "district", "contact_phone", "contact_email", "signed_date"]


def test_a_phone_number_is_checked_once_and_a_long_made_up_value_is_not_kept():
    """Numbers repeat from form to form and are answered from memory; a value longer than any
    phone number (a stranger can write 4,000 characters into the cell) is checked, never kept."""
    _cached_phone_problem.cache_clear()
    assert phone_problem("13800138000") is None and phone_problem("13800138000") is None
    assert _cached_phone_problem.cache_info().hits == 1
    long_value = "1380013800" + "号" * 3990
    assert phone_problem(long_value) == phone_problem("1380013800")  # the same verdict: not a number
    assert _cached_phone_problem.cache_info().currsize == 2  # the short one and the invalid short one
