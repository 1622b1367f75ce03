"""The people-text plugin itself, run on a small suite of its own: a document in English fails the
run and is named, also when the suite runs on two xdist processes (where only the workers know which
test wrote which file); what a test marked foreign_text makes is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]

SUITE = '''
import pytest

def test_writes_english(tmp_path):
    (tmp_path / "notice.html").write_text('<html lang="zh-CN"><p>Your request was accepted today</p></html>', encoding="utf-8")

@pytest.mark.foreign_text
def test_feeds_english_on_purpose(tmp_path):
    (tmp_path / "echo.html").write_text('<html lang="zh-CN"><p>Hostile script alert payload</p></html>', encoding="utf-8")

def test_writes_chinese(tmp_path):
    (tmp_path / "reply.html").write_text('<html lang="zh-CN"><p>您的登记表已受理。</p></html>', encoding="utf-8")
'''


@pytest.mark.foreign_text  # the small suite writes English on purpose: not this run's findings
@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_english_in_a_document_fails_the_run_and_names_the_test(pytester, monkeypatch, processes):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makepyfile(test_inner=SUITE)
    result = pytester.runpytest_subprocess("-p", "tests.support.people_text_plugin", "-p", "no:cacheprovider",
                                           *processes)
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    report = result.stdout.str()
    assert "test_inner.py::test_writes_english: file notice.html" in report
    assert "Your" in report or "request" in report
    assert "echo.html" not in report and "reply.html" not in report
