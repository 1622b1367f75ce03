"""Golden files: each filled form in tests/data/forms beside the Form it must read as.

The inputs and the expected JSON come from scripts/make_form_goldens.py, where the expected values
are written by hand (the reader is never used to produce them).
"""

import json
from pathlib import Path

import pytest

from bot.forms.reader import read_path

DATA = Path(__file__).parent / "data" / "forms"
DISTRICTS = ("海勃湾区", "乌达区", "海南区")
SUFFIXES = (".xlsx", ".docx", ".xlsm", ".docm", ".txt")
INPUTS = sorted(p for p in DATA.iterdir() if p.suffix in SUFFIXES)


def test_enough_goldens():
    assert len([p for p in INPUTS if p.suffix in (".xlsx", ".xlsm", ".docx", ".docm")]) >= 40
    assert all(p.with_suffix(".json").exists() for p in INPUTS)


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_golden(path):
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    form = read_path(path, districts=DISTRICTS, city="乌海市")
    assert form.to_json() == expected
