"""The scanner behind the session-wide check (tests/support/people_text_plugin.py): it finds
English words and ISO dates, and leaves addresses, case numbers, rule ids, file names and quoted
words alone. Also: every mail template renders to Chinese with a representative context."""

from __future__ import annotations

from tests.support.people_text import findings


def tokens(text: str) -> list[str]:
    return [f.token for f in findings(text, "test")]


def test_english_words_and_iso_dates_are_found():
    assert tokens("result due moved to 2027-02-15") == ["2027-02-15", "result", "due", "moved"]
    assert tokens("可运行 reception-bot cases list --overdue 查看") == ["reception", "bot", "cases", "list",
                                                                       "overdue"]
    assert tokens("交办 fgw，协办 zrzyj") == ["fgw", "zrzyj"]


def test_what_is_written_that_way_on_purpose_is_left_alone():
    text = ("编号 WHJD-2026-0001，主题[WHJD-2026-0001]，发至 intake@rb.test，邮件标识 <abc.def@bot.rb.test>；"
            "附件 企业诉求交办单-WHJD-2026-0001.docx、来访企业预约登记表.xlsx；规则 MATCH-CURRENT、KW-PETITION；"
            "企业填写的“abc@”无法识别；对方服务器答复原文：550 5.1.1 User unknown\n"
            "programme.toml:12: unknown key 'foo'\n2027年1月22日 9:00—12:00 0473-8991510")
    assert tokens(text) == []
