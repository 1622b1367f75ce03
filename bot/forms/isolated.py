"""PDFs and images are read in a short-lived child process, under limits the kernel enforces.

PDFium and the OCR engine are native code fed hostile bytes; a PDF bomb or a decompression trick
must not take the mail worker (or the daemon) down with it. The child runs `bot.forms.child` with
an address-space limit, a CPU-time limit and a wall-clock timeout, one thread, no network (its
socket module is disabled) and a private temporary directory removed afterwards. Only the child
loads the OCR model, and only when an image or a scanned page arrives; its memory is returned to
the system when it exits. It answers with JSON: positioned text items per page, or a refusal.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile

from bot.errors import FormUnreadable
from bot.forms.budget import FormBudget, over_limit
from bot.forms.layout import Item, values_with_confidence
from bot.forms.raw import RawValues
from bot.forms.refusals import unreadable

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# A fixed mmap threshold: glibc otherwise raises it after the first large free, so the OCR
# detector's activations (5-30 MB each) come from the heap, fragment it and stay: one page's peak
# ranged from 340 to 610 MB for the same input. Mapped and unmapped each time instead, the peak is
# 300-330 MB, for ~20% more recognition time (at 1 MB: 280 MB but twice the time).
MALLOC_VARS = {"MALLOC_MMAP_THRESHOLD_": str(4 << 20)}


def read_isolated(kind: str, data: bytes, budget: FormBudget) -> RawValues:
    """Raw values of a PDF or image, read in the child; via is pdf-text or ocr."""
    answer = run_child(kind, data, budget)
    if answer.get("refused"):
        reason, what = answer["refused"], answer.get("what", "")
        raise over_limit(what) if reason == "over-limits" else unreadable(reason)
    budget.spend_inflated(int(answer.get("inflated", 0)))
    pages = answer.get("pages", [])
    for page in pages:
        if page["via"] == "ocr":
            budget.spend_image()
    items = [[Item(*item) for item in page["items"]] for page in pages]
    budget.spend_text(sum(len(item.text) for page in items for item in page))
    values, confidence = values_with_confidence(items)
    ocr = any(page["via"] == "ocr" for page in pages)
    return RawValues(values, "ocr" if ocr else "pdf-text", confidence if ocr else {})


def run_child(kind: str, data: bytes, budget: FormBudget) -> dict:
    limits = budget.limits
    request = {"kind": kind, "inflate_left": budget.inflate_left, "max_pages": limits.max_pages,
               "max_pixels": limits.max_pixels,
               "max_images": max(0, limits.max_images - budget.images)}
    with tempfile.TemporaryDirectory(prefix="form-read-") as workdir:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bot.forms.child", json.dumps(request)],
                input=data, capture_output=True, cwd=workdir, env=_child_env(workdir),
                timeout=limits.subprocess_seconds,
                preexec_fn=lambda: _limit_child(limits.subprocess_memory, limits.subprocess_seconds))
        except subprocess.TimeoutExpired:
            raise over_limit("处理时间超限") from None
    if done.returncode != 0:
        # killed by a limit (SIGKILL/SIGXCPU) or out of memory (MemoryError, failed allocation)
        raise over_limit("处理所需资源超限")
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise FormUnreadable("corrupt", "") from None


def _child_env(workdir: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "TMPDIR": workdir,
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
           "LANG": "C.UTF-8"}
    env.update({name: "1" for name in _THREAD_VARS})
    env.update(MALLOC_VARS)
    return env


def _limit_child(memory: int, seconds: float) -> None:
    """In the child, before exec: its own memory and CPU limits, no core dumps."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()  # its own process group: a timeout kill reaches nothing else
