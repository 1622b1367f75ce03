"""Golden files of every format enterprises send (tests/data/formats, made by
scripts/make_format_goldens.py from the golden forms): .xls, .et, .doc, .wps, text PDFs, archives
read exactly; scans and photos read by OCR with every mandatory value right or asked back, never a
wrong value accepted silently; illegible photos refused with a request for a typed form."""

from __future__ import annotations

import pytest

from bot.errors import FormUnreadable
from bot.forms.reader import read_path
from tests.support.formats import DISTRICTS, goldens, judge, meta

EXACT = goldens("xls", "doc", "pdf-text", "zip", "7z")
OCR = goldens("scan", "photo")
SAMPLE = [p for p in OCR if p.name.startswith(("photo00", "photo06", "scan_d01"))]


def test_enough_goldens_of_each_format():
    counts = {}
    for path in goldens():
        kind = meta(path)["kind"]
        counts[kind] = counts.get(kind, 0) + 1
    wps = len([p for p in goldens() if p.suffix in (".wps", ".et")])
    assert counts["xls"] - 2 >= 10 and counts["doc"] - 2 >= 10 and wps >= 4
    assert counts["pdf-text"] >= 10 and counts["scan"] >= 10 and counts["photo"] >= 15
    assert counts["illegible"] >= 3 and counts["zip"] + counts["7z"] >= 5


@pytest.mark.parametrize("path", EXACT, ids=[p.name for p in EXACT])
def test_non_ocr_formats_read_every_mandatory_value_right(path):
    expect = meta(path)["expect"]
    form = read_path(path, districts=DISTRICTS, city="乌海市")
    verdict = judge(form, expect)
    assert verdict.wrong == []
    if path.suffix != ".pdf" and "pdf" not in path.name:
        assert form.to_json() == expect  # binaries and archives: the whole form, exactly


def _check_ocr(path):
    expect = meta(path)["expect"]
    try:
        form = read_path(path, districts=DISTRICTS, city="乌海市")
    except FormUnreadable as refused:  # asked for a typed form: nothing accepted
        assert refused.reason == "illegible"
        return
    verdict = judge(form, expect)
    assert verdict.wrong == [], "a wrong value would be accepted silently"
    assert form.sources["contact_name"].via == "ocr"
    assert all(source.confidence is not None for source in form.sources.values())


@pytest.mark.parametrize("path", SAMPLE, ids=[p.name for p in SAMPLE])
def test_ocr_sample_is_right_or_asked(path):
    _check_ocr(path)


# Names read from an image are confirmed by people (bot.forms.confidence.UNVERIFIABLE): the three
# photos where the recogniser drops a character of a name under the seal with full confidence
# (陈晓明 read as 陈明) are flagged and echoed back, not accepted silently. The sample above is not
# read twice: with it, the full suite reads every scan and photo once (~5-9 s each).
SWEEP = [p for p in OCR if p not in SAMPLE]


@pytest.mark.slow
@pytest.mark.parametrize("path", SWEEP, ids=[p.name for p in SWEEP])
def test_every_scan_and_photo_is_right_or_asked(path):
    _check_ocr(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", goldens("illegible"), ids=[p.name for p in goldens("illegible")])
def test_illegible_photos_are_never_read_as_a_form(path):
    with pytest.raises(FormUnreadable) as refused:
        read_path(path, districts=DISTRICTS, city="乌海市")
    assert "勿手写" in refused.value.detail or refused.value.reason in ("no-form", "no-identity")
