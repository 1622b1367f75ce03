"""bot.message.decode: every Chinese shape, split characters, unknown charsets, 8-bit fallbacks."""

from __future__ import annotations

import base64

import pytest

from bot.message.decode import (
    attachment_name,
    b64decode_lenient,
    decode_header_text,
    decode_text,
    decode_transfer,
    decode_words,
    normalize_charset,
    parse_params,
)

GBK_ONLY = "乌海镕喆堃科技"  # 镕 喆 堃 exist only in GBK/GB18030, not in GB2312


def b_word(text: str, codec: str, label: str) -> str:
    return f"=?{label}?B?{base64.b64encode(text.encode(codec)).decode()}?="


def surrogates(data: bytes) -> str:
    """What the stdlib parser hands over for raw 8-bit header bytes."""
    return data.decode("ascii", "surrogateescape")


@pytest.mark.parametrize("label", ["gb2312", "GB2312", "gbk", "GBK", "euc-cn", "cp936", "x-gbk",
                                   "gb18030", '"gb2312 "', " GBK "])
def test_gb_family_labels_decode_as_gb18030(label):
    assert normalize_charset(label) == "gb18030"
    assert decode_text(GBK_ONLY.encode("gbk"), label) == (GBK_ONLY, None)


def test_gb2312_codec_alone_would_lose_the_gbk_only_characters():
    with pytest.raises(UnicodeDecodeError):
        GBK_ONLY.encode("gbk").decode("gb2312")


@pytest.mark.parametrize("label", ["x-unknown", "unknown-8bit", "base64", "rot13", "no such thing"])
def test_unknown_charset_names_are_none(label):
    assert normalize_charset(label) is None


def test_utf8_alias():
    assert normalize_charset("utf8") == "utf-8"


@pytest.mark.parametrize("data, expect", [
    (GBK_ONLY.encode("utf-8"), "utf-8"),
    (GBK_ONLY.encode("gbk"), "gb18030"),
])
def test_unknown_charset_falls_back_utf8_then_gb18030(data, expect):
    text, note = decode_text(data, "x-unknown")
    assert text == GBK_ONLY
    assert note == f"unknown charset 'x-unknown'; read as {expect}"


def test_unknown_charset_last_resort_is_latin1():
    text, note = decode_text(b"\xff\x80abc", "x-unknown")
    assert text == "\xff\x80abc" and "latin-1" in note


def test_declared_charset_with_bad_bytes_is_replaced_not_raised():
    text, note = decode_text(b"ok \xff\xfe\xc3", "utf-8")
    assert text.startswith("ok ") and "\ufffd" in text and "replaced" in note


def test_utf8_bytes_under_a_gb2312_label_read_as_utf8():
    text, note = decode_text(GBK_ONLY.encode("utf-8"), "gb2312")
    assert text == GBK_ONLY and "UTF-8" in note


def test_bom_is_dropped():
    assert decode_text(b"\xef\xbb\xbfabc", "utf-8")[0] == "abc"


# --- RFC 2047 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 3, 5, 7])
def test_character_split_across_two_b_words_survives(cut):
    raw = GBK_ONLY.encode("gbk")
    words = [f"=?gb2312?B?{base64.b64encode(p).decode()}?=" for p in (raw[:cut], raw[cut:])]
    assert decode_words(" ".join(words)) == GBK_ONLY
    assert decode_words("\r\n ".join(words).replace("\r\n", "")) == GBK_ONLY


def test_character_split_across_q_words_of_gb2312_and_gbk_labels():
    raw = "镕喆".encode("gbk")
    q = lambda b: "".join(f"={x:02X}" for x in b)  # noqa: E731
    assert decode_words(f"=?gb2312?Q?{q(raw[:1])}?= =?GBK?Q?{q(raw[1:])}?=.docx") == "镕喆.docx"


def test_words_of_different_charsets_are_decoded_separately():
    text = b_word("镕", "gbk", "gbk") + " " + b_word("喆", "utf-8", "utf-8")
    assert decode_words(text) == "镕喆"


def test_text_between_words_is_kept_whitespace_between_words_is_not():
    assert decode_words(f"Re: {b_word('镕', 'utf-8', 'utf-8')} - {b_word('喆', 'utf-8', 'utf-8')}") == "Re: 镕 - 喆"


def test_q_underscore_is_space_and_language_suffix_is_ignored():
    assert decode_words("=?utf-8*zh-CN?Q?a_b?=") == "a b"


def test_broken_words_do_not_raise():
    assert "abc" in decode_words("=?gb2312?B?!!!?= =?x-unknown?Q?abc?= =?utf-8?B?5L2g5aW?=")


def test_raw_8bit_header_bytes_utf8_then_gb18030():
    assert decode_header_text(surrogates("登记表-镕喆".encode("utf-8"))) == "登记表-镕喆"
    assert decode_header_text(surrogates("登记表-镕喆".encode("gbk"))) == "登记表-镕喆"


def test_raw_8bit_and_encoded_word_in_one_header():
    value = surrogates("镕喆".encode("gbk")) + " " + b_word("登记表", "utf-8", "utf-8")
    assert decode_header_text(value) == "镕喆 登记表"


def test_folded_header_is_unfolded():
    assert decode_header_text("a\r\n b\r\n\tc") == "a b\tc"


# --- parameters and attachment names ---------------------------------------------------------------


def test_encoded_word_inside_quoted_name():
    _, params = parse_params(f'application/octet-stream;\r\n\tname="{b_word(GBK_ONLY, "gbk", "GB2312")}.xlsx"')
    assert params["name"] == GBK_ONLY + ".xlsx"


def test_encoded_words_unquoted_with_space():
    raw = GBK_ONLY.encode("gbk")
    words = " ".join(f"=?gbk?B?{base64.b64encode(raw[i:i + 3]).decode()}?=" for i in range(0, len(raw), 3))
    _, params = parse_params(f"application/octet-stream; name={words}")
    assert params["name"] == GBK_ONLY


@pytest.mark.parametrize("charset, codec", [("utf-8", "utf-8"), ("gb2312", "gbk"), ("GBK", "gbk"),
                                            ("gb18030", "gb18030")])
def test_rfc2231_continuations_any_charset(charset, codec):
    escaped = "".join(f"%{b:02X}" for b in (GBK_ONLY + ".xlsx").encode(codec))
    cut = 7  # after 7 bytes: one character has a byte on each side
    value = f"attachment;\r\n filename*0*={charset}''{escaped[:cut * 3]};\r\n filename*1*={escaped[cut * 3:]}"
    assert parse_params(value)[1]["filename*"] == GBK_ONLY + ".xlsx"


def test_rfc2231_single_and_plain_continuations():
    assert parse_params("attachment; filename*=utf-8''%E9%95%95.txt")[1]["filename*"] == "镕.txt"
    assert parse_params('attachment; filename*0="a b"; filename*1="c.txt"')[1]["filename*"] == "a bc.txt"


def test_rfc2231_continuations_sorted_by_index():
    assert parse_params("x; name*1=b; name*0=a; name*10=c")[1]["name*"] == "abc"


def test_raw_8bit_gbk_filename_with_backslash_trail_byte_before_quote():
    raw = "王昞".encode("gbk")  # 昞 ends in 0x5C, a backslash
    _, params = parse_params(surrogates(b'attachment; filename="' + raw + b'"; size=3'))
    assert params["filename"] == "王昞" and params["size"] == "3"


def test_quoted_semicolon_and_escaped_quote():
    _, params = parse_params('attachment; filename="a;b \\"c\\".txt"')
    assert params["filename"] == 'a;b "c".txt'


@pytest.mark.parametrize("disp, ctype, expect", [
    ({"filename*": "a", "filename": "b"}, {"name": "c"}, "a"),
    ({"filename": "b"}, {"name*": "d", "name": "c"}, "b"),
    ({}, {"name*": "d", "name": "c"}, "d"),
    ({}, {"name": "c"}, "c"),
    ({"filename": "  "}, {}, ""),
])
def test_attachment_name_preference(disp, ctype, expect):
    assert attachment_name(ctype, disp) == expect


# --- transfer encodings --------------------------------------------------------------------


def test_base64_clean_and_damaged():
    good = base64.b64encode(GBK_ONLY.encode())
    assert b64decode_lenient(good) == (GBK_ONLY.encode(), False)
    data, damaged = b64decode_lenient(good[:5] + b"!*" + good[5:].rstrip(b"="))
    assert data == GBK_ONLY.encode() and damaged


@pytest.mark.parametrize("separator", [b"\r\n", b"\n", b" ", b"\t"])
def test_base64_in_lines_is_clean_whatever_separates_them(separator):
    """Line breaks are part of a clean body; blanks are tolerated and not counted as damage."""
    payload = bytes(range(256)) * 40
    wrapped = base64.encodebytes(payload).replace(b"\n", separator)
    assert b64decode_lenient(wrapped) == (payload, False)


def test_base64_with_a_byte_from_outside_the_alphabet_is_damaged():
    wrapped = base64.encodebytes(bytes(range(256)) * 4)
    for stray in (b"-", b"_", b"\x00", "中".encode()):
        data, damaged = b64decode_lenient(wrapped[:100] + stray + wrapped[100:])
        assert damaged and data == bytes(range(256)) * 4, stray


def test_base64_concatenated_padded_blocks():
    data = base64.b64encode(b"ab") + base64.b64encode(b"cd")
    assert b64decode_lenient(data)[0] == b"abcd"


def test_base64_lone_sextet_is_dropped_with_note():
    data, note = decode_transfer(base64.b64encode(b"abc") + b"Q", "base64")
    assert data == b"abc" and "broken base64" in note


def test_quoted_printable_damage_noted():
    data, note = decode_transfer(b"caf=C3=A9 =ZZ=\r\nend", "Quoted-Printable")
    assert data == "café =ZZend".encode() and "broken quoted-printable" in note
    assert decode_transfer(b"caf=c3=a9=\r\nx", "quoted-printable") == ("caféx".encode(), None)


@pytest.mark.parametrize("cte", [None, "", "7bit", "8Bit", "binary"])
def test_identity_encodings(cte):
    assert decode_transfer(b"\xc4\xe3", cte) == (b"\xc4\xe3", None)


def test_unknown_transfer_encoding_kept_with_note():
    data, note = decode_transfer(b"xyz", "x-gzip64")
    assert data == b"xyz" and "x-gzip64" in note
