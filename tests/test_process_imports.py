"""What the bot's processes import is most of their resident memory (bench_memory: the bot and its
form-reading worker together must stay under 200 MB over a backlog of 10,000 mails). The worker
reads mail and forms: it needs neither the database, the outbox nor the document renderers, and
the readers of the rarer formats load on first use. The process that runs the intake reads no form
and needs no form-reading library. Each check looks at a fresh process: a real spawned worker, and
a new interpreter that imports the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.intake.prefetch import Sandbox
from bot.rules.loader import load_rules
from bot.samples import registration_mail
from tests.support.worker_modules import analyse_listing_modules

REPO = Path(__file__).resolve().parents[1]

# Imported on first use by the mail that needs them (PDFium and OCR only in their child process).
RARE_READERS = {"xlrd", "olefile", "py7zr", "msoffcrypto", "pypdfium2", "rapidocr_onnxruntime",
                "onnxruntime", "cv2", "pillow_heif", "matplotlib", "bot.forms.pdf", "bot.forms.ocr",
                "bot.forms.child"}
# The intake's own process: the database, the outbox, replies and referrals; not the worker.
NOT_IN_A_WORKER = {"sqlalchemy", "sqlmodel", "alembic", "psycopg", "imapclient", "jinja2", "docx",
                   "docxtpl", "bot.context", "bot.store.models", "bot.outbox.queue", "bot.documents.notice",
                   "bot.documents.ledger_export", "bot.followup.ledger_mail"}
# The mail and form readers themselves: a worker's (bot.intake.reading), not the intake process's.
READING = {"mailparser", "bot.message.parse", "bot.intake.read", "bot.intake.reading", "bot.forms.formats",
           "bot.forms.reader"}
# What only .xlsx forms, the ledger and the exports need: openpyxl brings numpy and PIL along.
SPREADSHEETS = {"openpyxl", "numpy", "PIL", "bot.documents.ledger_export", "bot.documents.ledger_import"}
# What openpyxl imports when it can, and a worker's reading never uses (~14 MB): only the OCR's child.
NOT_FOR_READING = {"numpy", "PIL"}
FORMS = REPO / "tests" / "data" / "forms"


def _top(modules: set[str], names: set[str]) -> set[str]:
    """The names (packages or modules) of which some module in `modules` is, or is a part of."""
    return {name for name in names if any(m == name or m.startswith(name + ".") for m in modules)}


def test_a_ready_worker_holds_the_usual_readers_and_nothing_of_the_rest():
    box = Sandbox(1, task=analyse_listing_modules)
    try:
        got = box.submit(b"anything", load_rules(REPO / "rules"), ("bot.rb.test",)).result()
    finally:
        box.close()
    modules = set(got.parse_error.splitlines())
    assert "bot.intake.prefetch" in modules and "python_calamine" in modules  # preloaded: most forms are .xlsx
    assert "openpyxl" not in modules  # only for the workbooks calamine leaves to it, on first use
    assert {"bot.intake.reading", "mailparser", "bot.forms.formats"} <= modules
    assert _top(modules, RARE_READERS | NOT_IN_A_WORKER | NOT_FOR_READING) == set()


def test_openpyxl_loads_for_the_first_workbook_calamine_leaves_to_it_without_numpy_and_pil():
    """A form calamine reads loads no openpyxl. The first workbook left to openpyxl (a credit code
    typed as a number) loads it and reads in full, with numpy and PIL hidden from it while it
    imports; afterwards both import as usual (the OCR needs them)."""
    code = ("import sys\n"
            "from bot.forms.budget import FormBudget\n"
            "from bot.forms.formats import preload_usual_readers, read_values\n"
            "preload_usual_readers()\n"
            "def read(name):\n"
            f"    raw = read_values(open({str(FORMS)!r} + '/' + name, 'rb').read(), FormBudget())\n"
            "    return raw.via, any('911503037011894523' in str(v) for v in raw.values.values())\n"
            "def loaded():\n"
            "    return sorted({'openpyxl', 'numpy', 'PIL'} & set(sys.modules))\n"
            "print(read('x01_canonical_two_col.xlsx')[0], loaded())\n"
            "print(*read('x11_numbers_and_date_cells.xlsx'), loaded())\n"
            "import numpy, PIL.Image\n"
            "print(numpy.zeros(2).sum(), PIL.Image.new('L', (2, 2)).size)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["xlsx []", "xlsx True ['openpyxl']", "0.0 (2, 2)"]


def test_a_worker_under_its_memory_limit_loads_openpyxl_when_a_workbook_needs_it():
    """Loaded after the worker's address-space limit is set: the workbook still reads in full."""
    form = (FORMS / "x11_numbers_and_date_cells.xlsx").read_bytes()
    raw = registration_mail(sender="qiye@corp.example", to="intake@bot.rb.test",
                            attachments=[("登记表.xlsx", form)])
    box = Sandbox(1)
    try:
        got = box.submit(raw, load_rules(REPO / "rules"), ("bot.rb.test",)).result()
    finally:
        box.close()
    intake, _attachment = got.intake
    assert intake.form is not None and intake.form.credit_code == "911503037011894523"


def test_the_command_line_imports_no_form_reading_library():
    """What `reception-bot run` imports: the command line and the body of its command (bot.cli._body)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    code = "import sys, bot.cli, bot.commands.service; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True)
    modules = set(done.stdout.splitlines())
    assert "bot.intake.prefetch" in modules  # the intake is part of the command line's imports
    assert _top(modules, RARE_READERS | SPREADSHEETS | READING) == set()
