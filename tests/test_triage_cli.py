"""`triage`, `parse` and `rules check` as a user runs them: a subprocess, in an empty directory.

Contract: spec/interfaces.md "Command line", "`triage --json` and `parse --json` output", "Rule files".
Mails and forms are built with bot.samples (Foxmail-shaped GBK mails, .xlsx/.docx forms).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from stdnum.cn import uscc

from bot.samples import FormValues, form_docx, form_xlsx, registration_mail
from tests.support.preload import run_bot

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "data" / "rules-min"
SHIPPED = ROOT / "rules"
INTAKE = "intake@rb.test"  # programme.mailbox of rules-min and rules/
OPEN_DAY = "2026-12-01"  # inside the 2026-12 window (2026-11-24 .. 2026-12-15)

OFF_ROSTER_CODE = "91150302MA0A1B2C3" + uscc.calc_check_digit("91150302MA0A1B2C3")

TOP_KEYS = ["decision", "reasons", "flags", "form", "field", "session"]
FORM_KEYS = [
    "enterprise_name", "credit_code", "district", "enterprise_types", "industry", "legal_representative",
    "contact_name", "contact_title", "contact_phone", "contact_email", "attendees", "field", "title",
    "facts", "reasons", "requests", "suggested_departments", "meeting_format", "declarations", "signed_date",
]
LIST_KEYS = {"enterprise_types", "attendees", "suggested_departments"}
DECLARATION_KEYS = ["judicial", "discipline", "petition", "proposal"]
DECISIONS = {"accepted", "deferred", "needs_correction", "referred", "rejected", "ignored"}


# --------------------------------------------------------------------------- helpers

def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECEPTION_BOT")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(cwd: Path, *args: str, rules: Path | None = MINIMAL, today: str | None = OPEN_DAY,
        config: Path | None = None) -> subprocess.CompletedProcess:
    cmd = []
    if config is not None:
        cmd += ["--config", str(config)]
    if rules is not None:
        cmd += ["--rules", str(rules)]
    if today is not None:
        cmd += ["--today", today]
    cmd += list(args)
    done = run_bot(cmd, cwd=cwd, env=_env(), text=False)
    done.out = done.stdout.decode("utf-8")
    done.err = done.stderr.decode("utf-8")
    return done


def mail(values: FormValues | None = FormValues(), *, kind: str = "xlsx", **kwargs) -> bytes:
    attachments = []
    if values is not None:
        data = form_xlsx(values) if kind == "xlsx" else form_docx(values)
        attachments = [(f"来访企业预约登记表.{kind}", data)]
    kwargs.setdefault("sender", "ent1@corp.test")
    return registration_mail(to=INTAKE, attachments=attachments, **kwargs)


def write(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


def triage_json(workdir: Path, raw: bytes, **kwargs) -> dict:
    path = write(workdir, "message.eml", raw)
    done = cli(workdir, "triage", str(path), "--json", **kwargs)
    assert done.returncode == 0, done.err
    return json.loads(done.out)


def assert_user_error(done, code: int, *mentions: str) -> None:
    assert done.returncode == code, (done.returncode, done.out, done.err)
    lines = [line for line in done.err.splitlines() if line.strip()]
    assert len(lines) == 1, done.err
    assert "Traceback" not in done.err
    for text in mentions:
        assert text in lines[0], lines[0]


@pytest.fixture
def workdir(tmp_path) -> Path:
    """An empty current directory: no config.toml, no storage/, no rules/."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


# --------------------------------------------------------------------------- triage --json shape

def test_triage_json_shape_is_the_spec(workdir):
    out = triage_json(workdir, mail())
    assert list(out) == TOP_KEYS
    assert out["decision"] == "accepted"
    assert out["field"] == "industry"
    assert out["session"] == "2026-12"
    assert isinstance(out["reasons"], list) and isinstance(out["flags"], list)
    for item in out["reasons"] + out["flags"]:
        assert list(item) == ["rule", "field", "text"]
        assert item["field"] is None or isinstance(item["field"], str)
        assert isinstance(item["text"], str) and item["text"]
    assert [r["rule"] for r in out["reasons"]] == ["MATCH-CURRENT"]
    form = out["form"]
    assert list(form) == FORM_KEYS
    assert list(form["declarations"]) == DECLARATION_KEYS
    for key in FORM_KEYS:
        if key in LIST_KEYS:
            assert isinstance(form[key], list), key
        elif key != "declarations":
            assert form[key] is None or isinstance(form[key], str), key


def test_triage_json_form_values(workdir):
    form = triage_json(workdir, mail())["form"]
    assert form["enterprise_name"] == "乌海市金沙湾新材料科技有限公司"
    assert form["credit_code"] == "91150302MA0N1RX23K"
    assert form["district"] == "海勃湾区"
    assert set(form["enterprise_types"]) == {"规上企业", "高新技术企业"}
    assert form["contact_phone"] == "13904731234"
    assert form["contact_email"] is None  # missing values are null
    assert len(form["attendees"]) == 2
    assert form["field"] == "工业和信息化"  # as written; the top-level field is the id
    assert form["declarations"] == {k: False for k in DECLARATION_KEYS}
    assert form["signed_date"] == "2026-11-30"


def test_triage_output_is_utf8_not_ascii_escaped(workdir):
    path = write(workdir, "m.eml", mail())
    done = cli(workdir, "triage", str(path), "--json")
    assert done.returncode == 0, done.err
    assert "乌海市金沙湾新材料科技有限公司" in done.out
    assert "\\u" not in done.out
    json.loads(done.stdout.decode("utf-8"))  # one JSON object, nothing else on stdout


def test_triage_reads_a_docx_form_too(workdir):
    out = triage_json(workdir, mail(kind="docx"))
    assert (out["decision"], out["field"], out["session"]) == ("accepted", "industry", "2026-12")


def test_unanswered_declaration_is_null_and_named(workdir):
    out = triage_json(workdir, mail(FormValues(petition="□是 □否")))
    assert out["form"]["declarations"]["petition"] is None
    assert out["decision"] == "needs_correction"
    assert {(r["rule"], r["field"]) for r in out["reasons"]} == {("FORM-INCOMPLETE", "declarations.petition")}


def test_keyword_flag_in_the_json(workdir):
    facts = "对方曾向法院起诉我公司，但本诉求只涉及增容审批手续，恳请加快办理。"
    out = triage_json(workdir, mail(FormValues(facts=facts)))
    assert out["decision"] == "accepted"
    assert ("KW-JUDICIAL", "facts") in {(f["rule"], f["field"]) for f in out["flags"]}


# --------------------------------------------------------------------------- exit 0 for every decision

CASES = {
    "accepted": (lambda: mail(), OPEN_DAY, "MATCH-CURRENT"),
    "deferred": (lambda: mail(FormValues(field="金融服务")), OPEN_DAY, "MATCH-LATER"),
    "needs_correction": (lambda: mail(None, body="您好，我公司想预约接待，请安排。\n"), OPEN_DAY, "FORM-MISSING"),
    "referred": (lambda: mail(FormValues(enterprise_name="乌海市某某商贸有限公司", credit_code=OFF_ROSTER_CODE)),
                 OPEN_DAY, "SCOPE-REFER"),
    "rejected": (lambda: mail(FormValues(judicial="☑是 □否")), OPEN_DAY, "EX-JUDICIAL"),
    "ignored": (lambda: mail(extra_headers={"Auto-Submitted": "auto-replied"}), OPEN_DAY, "LOOP-AUTO"),
}


@pytest.mark.parametrize("decision", sorted(CASES))
def test_triage_exits_0_for_every_decision(workdir, decision):
    build, today, rule = CASES[decision]
    path = write(workdir, "m.eml", build())
    done = cli(workdir, "triage", str(path), "--json", today=today)
    assert done.returncode == 0, done.err
    out = json.loads(done.out)
    assert out["decision"] == decision
    assert rule in [r["rule"] for r in out["reasons"]]
    assert "Traceback" not in done.err


def test_deferred_after_the_last_session_is_no_session(workdir):
    out = triage_json(workdir, mail(), today="2027-04-01")
    assert (out["decision"], out["session"]) == ("deferred", None)
    assert [r["rule"] for r in out["reasons"]] == ["NO-SESSION"]


def test_our_own_mail_is_ignored_case_insensitively(workdir):
    out = triage_json(workdir, mail(sender="Intake@RB.test"))
    assert out["decision"] == "ignored"
    assert [r["rule"] for r in out["reasons"]] == ["LOOP-AUTO"]


def test_unreadable_attachment_is_form_unreadable(workdir):
    raw = registration_mail(sender="ent1@corp.test", to=INTAKE,
                            attachments=[("登记表.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)])
    out = triage_json(workdir, raw)
    assert out["decision"] == "needs_correction"
    assert {r["rule"] for r in out["reasons"]} == {"FORM-UNREADABLE"}


def test_readable_form_beside_a_photo_is_read(workdir):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    raw = registration_mail(sender="ent1@corp.test", to=INTAKE,
                            attachments=[("营业执照.png", png), ("登记表.xlsx", form_xlsx(FormValues()))])
    assert triage_json(workdir, raw)["decision"] == "accepted"


# --------------------------------------------------------------------------- user errors

def test_missing_file_exits_1_with_one_line(workdir):
    done = cli(workdir, "triage", str(workdir / "nope.eml"), "--json")
    assert_user_error(done, 1, "nope.eml")
    assert done.out == ""


@pytest.mark.parametrize("name,data", [
    ("notes.txt", "这不是一封邮件，只是几行文字。\n第二行。\n".encode("utf-8")),
    ("form.xlsx", form_xlsx(FormValues())),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
    ("empty.eml", b""),
])
def test_non_mail_file_exits_1_with_one_line(workdir, name, data):
    path = write(workdir, name, data)
    done = cli(workdir, "triage", str(path), "--json")
    assert_user_error(done, 1, name)
    assert done.out == ""


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "tomorrow", "2026/12/01"])
def test_bad_today_exits_2_with_one_line(workdir, bad):
    path = write(workdir, "m.eml", mail())
    done = cli(workdir, "triage", str(path), "--json", today=bad)
    assert_user_error(done, 2, "--today")
    assert done.out == ""


# --------------------------------------------------------------------------- rules directories

def test_triage_with_a_copy_of_the_shipped_rules(workdir, tmp_path):
    rules = tmp_path / "rules-copy"
    shutil.copytree(SHIPPED, rules)
    out = triage_json(workdir, mail(), rules=rules)
    assert (out["decision"], out["field"], out["session"]) == ("accepted", "industry", "2026-12")


def test_shipped_rules_refer_to_the_district_government(workdir, tmp_path):
    rules = tmp_path / "rules-copy"
    shutil.copytree(SHIPPED, rules)
    values = FormValues(enterprise_name="乌海市某某商贸有限公司", credit_code=OFF_ROSTER_CODE, district="海南区")
    out = triage_json(workdir, mail(values), rules=rules)
    assert out["decision"] == "referred"
    assert [r["rule"] for r in out["reasons"]] == ["SCOPE-REFER"]
    assert "海南区人民政府" in out["reasons"][0]["text"]


# --------------------------------------------------------------------------- parse --json

@pytest.mark.parametrize("kind", ["xlsx", "docx", "eml"])
def test_parse_prints_the_form_and_its_sources(workdir, kind):
    values = FormValues()
    data = {"xlsx": lambda: form_xlsx(values), "docx": lambda: form_docx(values),
            "eml": lambda: mail(values)}[kind]()
    path = write(workdir, f"input.{kind}", data)
    done = cli(workdir, "parse", str(path), "--json")
    assert done.returncode == 0, done.err
    assert "\\u" not in done.out
    form = json.loads(done.out)
    assert list(form) == FORM_KEYS + ["sources"]  # the form's keys, then where each value came from
    via = {"xlsx": "xlsx", "docx": "docx", "eml": "xlsx"}[kind]
    assert form["sources"]["credit_code"] == {"via": via}
    assert form["enterprise_name"] == "乌海市金沙湾新材料科技有限公司"
    assert form["credit_code"] == "91150302MA0N1RX23K"
    assert form["contact_name"] == "李晓明"
    assert form["title"] == values.title
    assert form["requests"] == values.requests
    assert form["declarations"] == {k: False for k in DECLARATION_KEYS}
    assert form["signed_date"] == "2026-11-30"
    assert form["contact_email"] is None


def test_parse_normalises_values(workdir):
    values = FormValues(credit_code="9115 0302 maon 1rx2 3k", district="乌海市海勃湾区",
                        contact_phone="0473 8991510", signed_date="2026年3月5日", contact_email="  li@corp.test ")
    path = write(workdir, "form.xlsx", form_xlsx(values))
    done = cli(workdir, "parse", str(path), "--json")
    assert done.returncode == 0, done.err
    form = json.loads(done.out)
    assert form["credit_code"] == "91150302MA0N1RX23K"
    assert form["district"] == "海勃湾区"
    assert form["contact_phone"] == "0473-8991510"
    assert form["signed_date"] == "2026-03-05"
    assert form["contact_email"] == "li@corp.test"


def test_parse_fills_the_name_from_the_roster(workdir):
    path = write(workdir, "form.docx", form_docx(FormValues(enterprise_name="")))
    done = cli(workdir, "parse", str(path), "--json")
    assert done.returncode == 0, done.err
    assert json.loads(done.out)["enterprise_name"] == "乌海市金沙湾新材料科技有限公司"


def test_parse_missing_file_exits_1(workdir):
    assert_user_error(cli(workdir, "parse", str(workdir / "nope.xlsx"), "--json"), 1, "nope.xlsx")


# --------------------------------------------------------------------------- triage never writes

def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(directory)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_triage_creates_nothing_in_the_current_directory(workdir):
    for raw in (mail(), mail(None, body="想预约"), mail(FormValues(judicial="☑是 □否"))):
        path = write(workdir, "m.eml", raw)
        assert cli(workdir, "triage", str(path), "--json").returncode == 0
    assert sorted(p.name for p in workdir.iterdir()) == ["m.eml"]
    assert not (workdir / "storage").exists()


def _database_with_full_session(db_path: Path, session_id: str, seats: int) -> None:
    """A migrated SQLite ledger with `seats` accepted cases of other enterprises in `session_id`."""
    from sqlmodel import Session

    from bot.store.db import open_database
    from bot.store.models import Case

    engine = open_database(f"sqlite:///{db_path}")
    now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    with Session(engine) as db:
        for i in range(seats):
            code17 = f"91150302MA0C{i:04d}X"
            db.add(Case(number=f"WHJD-2026-{i + 1:04d}", status="accepted", decision="accepted",
                        rules="MATCH-CURRENT", session_id=session_id, field_id="industry",
                        enterprise_name=f"企业{i}", credit_code=code17 + uscc.calc_check_digit(code17),
                        created_at=now, updated_at=now))
        db.commit()
    engine.dispose()


@pytest.fixture
def configured(tmp_path):
    """config.toml naming a storage dir holding an SQLite ledger whose session 2026-12 is full (8 of 8)."""
    conf = tmp_path / "conf"
    store = conf / "store"
    store.mkdir(parents=True)
    rules = conf / "rules"
    shutil.copytree(MINIMAL, rules)
    db_path = store / "bot.db"
    _database_with_full_session(db_path, "2026-12", 8)
    config = conf / "config.toml"
    config.write_text(f'storage_dir = "store"\nrules_dir = "rules"\n'
                      f'database_url = "sqlite:///{db_path}"\n', encoding="utf-8")
    return config, store


def test_triage_reads_capacity_from_the_database_and_never_writes(workdir, configured):
    config, store = configured
    before = snapshot(store)
    assert "bot.db" in before
    path = write(workdir, "m.eml", mail())
    done = cli(workdir, "triage", str(path), "--json", config=config, rules=None)
    assert done.returncode == 0, done.err
    out = json.loads(done.out)
    # the open session 2026-12 takes industry but its 8 seats are taken; 2027-03 also takes industry
    assert (out["decision"], out["session"]) == ("deferred", "2027-03")
    assert [r["rule"] for r in out["reasons"]] == ["SESSION-FULL"]
    assert snapshot(store) == before
    assert sorted(p.name for p in workdir.iterdir()) == ["m.eml"]


def test_triage_with_an_empty_configured_database_accepts_and_never_writes(workdir, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    db_path = store / "bot.db"
    _database_with_full_session(db_path, "2026-12", 0)
    config = tmp_path / "config.toml"
    config.write_text(f'storage_dir = "{store}"\nrules_dir = "{MINIMAL}"\n'
                      f'database_url = "sqlite:///{db_path}"\n', encoding="utf-8")
    before = snapshot(store)
    path = write(workdir, "m.eml", mail())
    done = cli(workdir, "triage", str(path), "--json", config=config, rules=None)
    assert done.returncode == 0, done.err
    assert json.loads(done.out)["decision"] == "accepted"
    assert snapshot(store) == before


# --------------------------------------------------------------------------- rules check

@pytest.mark.parametrize("rules", [SHIPPED, MINIMAL], ids=["rules", "rules-min"])
def test_rules_check_passes_on_good_rules(workdir, rules):
    done = cli(workdir, "rules", "check", rules=rules, today=None)
    assert done.returncode == 0, done.err
    assert "Traceback" not in done.err


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def _break(rules: Path, file: str, old: str, new: str) -> int:
    """Replace `old` by `new` once in rules/file; the line number of `new` there."""
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return _line_of(path, new.strip().splitlines()[-1])


BREAKS = {
    "unknown key": ("sessions.toml", 'capacity = 2\n', 'capacity = 2\ncolour = "red"\n'),
    "dangling leader": ("sessions.toml", 'leader = "mayor"', 'leader = "nobody"'),
    "dangling field": ("leaders.toml", 'fields = ["finance"]', 'fields = ["finance", "fishing"]'),
    "unit without an address": ("units.toml", 'emails = ["jrb@units.test"]\n', ''),
}


@pytest.mark.parametrize("what", sorted(BREAKS))
def test_rules_check_reports_file_and_line(workdir, tmp_path, what):
    rules = tmp_path / "broken"
    shutil.copytree(MINIMAL, rules)
    file, old, new = BREAKS[what]
    if new:
        line = _break(rules, file, old, new)
        where = [line]
    else:  # a removed key: the problem is on the entry; accept its header or id line
        path = rules / file
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        id_line = _line_of(path, 'id = "jrb"')
        where = [id_line - 1, id_line]
    done = cli(workdir, "rules", "check", rules=rules, today=None)
    assert done.returncode == 1, (done.out, done.err)
    assert "Traceback" not in done.err
    pattern = re.compile(rf"^(?:.*/)?{re.escape(file)}:(\d+): \S", re.M)
    lines = [int(m.group(1)) for m in pattern.finditer(done.err)]
    assert any(n in where for n in lines), (where, done.err)


def test_rules_check_lists_every_problem_at_once(workdir, tmp_path):
    rules = tmp_path / "broken"
    shutil.copytree(MINIMAL, rules)
    l1 = _break(rules, "sessions.toml", 'leader = "mayor"', 'leader = "nobody"')
    l2 = _break(rules, "fields.toml", 'departments = ["jrb"]', 'departments = ["nowhere"]')
    done = cli(workdir, "rules", "check", rules=rules, today=None)
    assert done.returncode == 1
    assert re.search(rf"(^|/)sessions\.toml:{l1}: ", done.err, re.M), done.err
    assert re.search(rf"(^|/)fields\.toml:{l2}: ", done.err, re.M), done.err
