"""Chinese explanations carried in `reasons` and quoted in replies (one place, so wording is consistent)."""

from __future__ import annotations

from datetime import date

from bot.documents.cn import cn_date, cn_time, cn_weekday
from bot.forms.model import LABEL_OF_KEY
from bot.rules.model import Exclusion, FieldRule, Ruleset, Session, Unit
from bot.verdict import Rule

WEEKDAYS = "一二三四五六日"

DEFAULT_PLACEHOLDERS = frozenset({
    "无", "略", "同上", "见附件", "详见附件", "暂无", "待定", "见附表", "如题", "不详", "/", "-",
    "—", "无。", "n/a", "N/A", "空", "待补充",
})

FORM_MISSING = ("来信中未发现《来访企业预约登记表》附件，正文中也未填写登记表内容。"
                "请下载并填写本邮件所附登记表（.xlsx 或 .docx 格式），作为附件回复本邮件。")

_EXPECT = {
    "enterprise_name": "请填写营业执照上的企业全称",
    "credit_code": "请填写营业执照上的18位统一社会信用代码",
    "district": "请填写企业所属地区（区）",
    "contact_name": "请填写联系人姓名",
    "contact_phone": "请填写联系人手机号码或带区号的固定电话",
}


def label(key: str) -> str:
    return LABEL_OF_KEY.get(key, key)


def loop(reason: str) -> str:
    return f"系统自动邮件（{reason}），不予回复。"


def incomplete(key: str) -> str:
    if key.startswith("declarations."):
        return f"“{label(key)}”未勾选，请选择“是”或“否”。"
    hint = _EXPECT.get(key, "请补充填写")
    return f"“{label(key)}”未填写，{hint}。"


def field_unknown(written: str | None, rules: Ruleset) -> str:
    names = "、".join(f.name for f in rules.fields)
    if written:
        return f"“诉求领域”填写的“{written}”无法识别，请从以下领域中选择一项：{names}。"
    return f"“诉求领域”未填写，且无法从诉求内容判断所属领域，请从以下领域中选择一项：{names}。"


def too_many_attendees(count: int, limit: int) -> str:
    return f"“参加接待人员”共填写{count}人，每家企业参加接待人员不超过{limit}人，请精简后重新填写。"


def vague(key: str, printed_label: str, rule: Exclusion | None) -> str:
    clause = rule.clause if rule and rule.clause else ""
    return (f"“{printed_label}”未写明具体内容（不能只填写“无”“略”“详见附件”等）。按照《工作方案》{clause}，"
            "没有明确的对象和具体的事实、理由和请求的，不纳入受理范围，请具体填写。")


def exclusion(rule: Exclusion | None, rule_id: str) -> str:
    if rule is None:
        return f"不予受理（{rule_id}）。"
    text = f"{rule.title}。"
    if rule.basis:
        text += f"按照《工作方案》{rule.clause}，“{rule.basis.rstrip('。')}”不纳入接待日受理范围。"
    if rule.referral:
        text += rule.referral.rstrip("。") + "。"
    return text


def keyword_flag(rule: Exclusion, words: list[str]) -> str:
    return f"内容含有“{'、'.join(words)}”等词语，可能涉及“{rule.title}”，请人工核实。"


def refer(unit: Unit) -> str:
    return (f"贵企业未列入本次接待重点范围（规上企业、上市后备企业、高新技术企业），"
            f"诉求已转交{unit.name}受理。")


def session_words(session: Session) -> str:
    """2026年12月22日（星期二）上午9:00—12:00: the one way a session's time is written."""
    return (f"{cn_date(session.date)}（{cn_weekday(session.date)}）{session.period}"
            f"{cn_time(session.start)}—{cn_time(session.end)}")


def session_label(session: Session | None) -> str:
    """2026年12月22日上午: a session as the ledger and the office's lists name it."""
    return f"{cn_date(session.date)}{session.period}" if session else ""


def match(rule_id: str, session: Session | None, field: FieldRule, rules: Ruleset,
          today: date | None = None) -> str:
    """Why the demand is placed where it is. The reply prints the session's time, place and
    leader below it, so this says only why (and, without a session, what happens instead)."""
    if rule_id == Rule.MATCH_CURRENT:
        return f"诉求领域“{field.name}”与本期接待领域一致，予以当期安排。"
    if rule_id == Rule.NO_SESSION:
        return f"目前尚无接待“{field.name}”领域的场次，待场次确定后另行通知。"
    next_one = (f"择期安排在{cn_date(session.date)}的接待场次。" if session
                else "目前尚无可安排的后续场次，待场次确定后另行通知。")
    if rule_id == Rule.SESSION_FULL:
        return "本期接待名额已满，" + next_one
    if rule_id == Rule.WINDOW_CLOSED:
        closed = _closed_session(field, rules, today)
        if closed is not None:
            return (f"接待“{field.name}”领域的{cn_date(closed.date)}场次预约登记已于"
                    f"{cn_date(closed.registration_closes)}截止，" + next_one)
        return f"接待“{field.name}”领域的下一场次预约登记已截止，" + next_one
    return f"诉求领域“{field.name}”不在本期接待领域内，" + next_one


def _closed_session(field: FieldRule, rules: Ruleset, today: date | None) -> Session | None:
    """The next session of the field whose registration has closed (WINDOW-CLOSED)."""
    if today is None:
        return None
    closed = [s for s in rules.sessions if field.id in s.fields and s.date > today
              and s.registration_closes < today]
    return min(closed, key=lambda s: (s.date, s.id), default=None)


PLAN_SHORT = "《工作方案》"


def cite_plan(text: str, plan_title: str) -> str:
    """The work plan cited by its full title the first time in a text, 《工作方案》 after that."""
    if not plan_title or PLAN_SHORT not in text or plan_title in text:
        return text
    first = text.index(PLAN_SHORT)
    rest = text[first + len(PLAN_SHORT):]
    full = plan_title if PLAN_SHORT not in rest else f"{plan_title}（以下简称{PLAN_SHORT}）"
    return text[:first] + full + rest


def leader_words(rules: Ruleset, session: Session | None) -> str:
    """The session's receiving leader as printed: title and name (副市长张三), or the title."""
    leader = rules.leader_by_id(session.leader) if session else None
    return leader.full_title if leader else ""


def duplicate_code(other_case: str) -> str:
    return (f"该统一社会信用代码已有其他邮箱登记的诉求（{other_case}），本登记暂不占用接待名额，"
            "请核实企业身份后再作安排。")
