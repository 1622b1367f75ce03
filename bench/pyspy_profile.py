"""Where the bot's time goes: `run --once` recorded by py-spy, summarised by stage.

Two recordings of the same run (`--threads --subprocesses`, so every thread of the bot and its
worker processes is in them):

  * wall (`--idle`): idle threads are sampled too, so a stage's samples are its wall time, waiting
    for the network, a lock, a worker or the GIL included;
  * GIL (`--gil`): only the thread holding the GIL is sampled, so a stage's samples are the Python
    work it does. Wall minus GIL is what that stage waits for;
  * native (`--idle --native`): the C frames under the Python ones say what that wait is: the GIL
    (pthread_cond_timedwait), SQLite's busy handler sleeping while another connection writes, an
    fsync, a socket, a lock or a thread join, the garbage collector (WAITS).

The raw output (one collapsed stack per line, `process …;thread (tid): name;frame;… count`) is kept in
bench/out/ for flame graphs; this module reads it back and gives every sample to one stage: the first
rule of STAGES with a marker on the sample's stack.

Used by bench_compare.py and bench_ingest.py (`--profile`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

PYSPY = Path(sys.executable).parent / "py-spy"
RATE = 100  # samples per second and thread: enough for a 20 s run, light enough for a 2-core machine
MS_PER_SAMPLE = 1000 / RATE

# (stage, group, markers): a sample belongs to the first stage with one of its markers on the stack; a
# marker that is a tuple needs all of its parts. Order matters: a database commit is a commit wherever
# it happens (a claim, the final dot, a sent copy), so it is tested before the steps that commit;
# imports are tested first (some happen lazily, inside a step).
STAGES: list[tuple[str, str, tuple]] = [
    ("imports", "start-up", ("_find_and_load (",)),
    ("database commit (flush + COMMIT)", "database commits", ("Session.commit (",)),
    ("config, rules, engine (open_runtime)", "start-up", ("open_runtime (",)),
    ("rules check, re-evaluation of deferred cases", "start-up", ("_check_rules (",)),
    ("IMAP FETCH of a batch (headers, then new mail whole)", "fetch",
     ("ImapSource.fetch_new (", "ImapSource.peek_new (", "ImapSource.fetch_whole (")),
    ("IMAP MOVE of the done batch", "fetch", ("ImapSource.mark_done_many (",)),
    ("IMAP SEARCH per unconfirmed sent copy", "fetch", ("settle_unconfirmed (",)),
    ("IMAP login, select, logout", "fetch", ("ImapSource.open (", "ImapSource.close (")),
    ("archive: write + fsync file + fsync dir", "archive/fsync", ("archive_batch (",)),
    ("hand the batch to the workers (pickle, submit)", "parse", ("Sandbox.submit_all (",)),
    ("wait for a worker's parse + form", "waiting", ("Sandbox.finish (",)),
    ("parse the mail (bot.message.parse)", "parse", ("parse_message (",)),
    ("read the .xlsx form", "parse", ("bot/forms/xlsx.py",)),
    ("read the .docx form", "parse", ("bot/forms/docx.py",)),
    ("read the form, other (sniff, zip checks, body, normalise)", "parse", ("read_intake (",)),
    ("compose: templates + MIME (drafts_for, build_mime)", "compose/MIME", ("drafts_for (", "build_mime (")),
    ("SMTP transaction (send, wait for 250)", "SMTP send", ("SmtpTransport.send (",)),
    ("wait for room in the hand-over (the senders are behind)", "waiting", ("Handoff.wait_for_room (",)),
    ("wait for the sender threads to finish", "waiting", ("BackgroundSender.__exit__ (",)),
    ("wait for sent copies to come back (settle)", "waiting", ("_settle_copies (",)),
    ("database queries and ORM flush", "database queries", ("sqlalchemy/", "sqlmodel/")),
    ("decide (rules)", "decide/record", ("decide (bot/rules/decide.py",)),
    ("record, queue, pipeline bookkeeping", "decide/record",
     ("bot/pipeline.py", "bot/cases.py", "bot/replies.py", "bot/outbox/queue.py")),
    ("pool: write work into the workers' pipe", "pool threads", (("Queue._feed (", "send_bytes ("),)),
    ("pool: read a worker's result", "pool threads", (("_ExecutorManagerThread", "recv ("),)),
    ("idle: sender waiting for mail to send", "idle", ("BackgroundSender._drain (",)),
    ("idle: worker waiting for work", "idle", ("_process_worker (",)),
    ("idle: pool threads waiting", "idle", ("Queue._feed (", "_ExecutorManagerThread", "_watch_parent")),
    ("idle: multiprocessing's resource tracker", "idle", ("resource_tracker.py",)),
    ("scheduled jobs", "other", ("Jobs.run_due (",)),
    ("logging", "other", ("logging/__init__.py",)),
    ("other", "other", ("",)),
]
# What a thread is doing when it is not running Python, from the C frames of a `--native` sample: the
# first entry with a marker on the stack. CPython 3.11 waits for the GIL in pthread_cond_timedwait and
# for a threading lock in PyThread_acquire_lock; SQLite's busy handler sleeps in usleep. A leaf in
# libc that py-spy cannot name is, in a thread that is not in a lock, the futex of the GIL.
WAITS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLite busy handler (sleeps: another connection writes)", ("sqlite3InvokeBusyHandler",)),
    ("fsync / fdatasync", ("fsync", "fdatasync")),
    ("garbage collector", ("gc_collect_main",)),
    ("lock, thread join, Condition", ("sem_clockwait", "sem_timedwait", "sem_wait", "PyThread_acquire_lock")),
    ("GIL (waiting to run Python)", ("take_gil", "pthread_cond_timedwait", "<unresolved libc leaf>")),
    ("socket, poll, select (a server or a pipe)", ("poll", "select", "recv", "SSL_read", "read (")),
    ("sleep", ("nanosleep",)),
    ("running", ("",)),
]
GROUP_ORDER = ["start-up", "fetch", "archive/fsync", "parse", "database commits", "database queries",
               "decide/record", "compose/MIME", "SMTP send", "waiting", "pool threads", "idle", "other"]

# `process PID:"cmdline";` (a cmdline may hold a ';': python -c "…spawn_main; spawn_main(…)")
_PROCESS = re.compile(r'^process (\d+):"([^"]*)";')
_THREAD = re.compile(r"^thread \((\d+)\)(?::\s*(.*))?$")
_LINE = re.compile(r":\d+\)$")
_UNNAMED_LIBC = re.compile(r"^0x[0-9a-f]+ \(libc\.")


@dataclass
class Sample:
    process: str  # "bot", "worker", or the cmdline of another child
    thread: str  # "main", "sender", "pool", or the thread's name
    tid: str  # the thread's id (threads of one kind are told apart by it)
    frames: list[str]  # outermost first, line numbers removed: "func (file)"
    count: int

    @property
    def stack(self) -> str:
        return ";".join(self.frames)


# -- recording ----------------------------------------------------------------------------------


def ensure_pyspy() -> str | None:
    """None when py-spy is in this venv (installed from PyPI now if missing), else why not."""
    if PYSPY.exists():
        return None
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                           "py-spy"], capture_output=True, text=True)
    if done.returncode != 0 or not PYSPY.exists():
        return f"pip install py-spy failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


MODES = {"wall": ["--idle"], "gil": ["--gil"], "native": ["--idle", "--native"]}


def wrap(output: Path, mode: str = "wall", rate: int = RATE) -> list[str]:
    """The command prefix that runs a program under py-spy, raw collapsed stacks to `output`."""
    return [str(PYSPY), "record", *MODES[mode], "--threads", "--subprocesses",
            "--rate", str(rate), "--format", "raw", "-o", str(output), "--"]


# -- reading --------------------------------------------------------------------------------------


def read_samples(path: Path) -> list[Sample]:
    rows, names = [], {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        procs = []
        while m := _PROCESS.match(stack):
            procs.append(m)
            stack = stack[m.end():]
        head, _, rest = stack.partition(";")
        thread = _THREAD.match(head)
        tid, name = (thread.group(1), thread.group(2) or "") if thread else ("?", "")
        if name:
            names[tid] = name  # the first samples of a thread may come before py-spy knows its name
        frames = [_LINE.sub(")", f) for f in (rest if thread else stack).split(";") if f]
        rows.append((procs, tid, name, frames, int(n)))
    return [Sample(_process_kind(procs), _thread_kind(procs, tid, name or names.get(tid, "")), tid, frames, n)
            for procs, tid, name, frames, n in rows]


def _process_kind(procs) -> str:
    if len(procs) <= 1:
        return "bot"
    cmdline = procs[-1].group(2)
    if "resource_tracker" in cmdline:
        return "resource tracker"
    return "worker" if "spawn_main" in cmdline else cmdline[:60]


def _thread_kind(procs, tid: str, name: str) -> str:
    if (procs and procs[-1].group(1) == tid) or name == "MainThread":
        return "main"
    if name.startswith("outbox-sender"):
        return "sender"
    if name == "QueueFeederThread" or name.startswith("Thread-"):
        return "pool"  # the process pool's manager and feeder threads
    return name or "?"


def _has(stack: str, marker) -> bool:
    return all(part in stack for part in marker) if isinstance(marker, tuple) else marker in stack


def stage_of(sample: Sample) -> tuple[str, str]:
    if not sample.frames:
        return "interpreter start and exit (no Python frame)", "start-up"
    stack = sample.stack
    for stage, group, markers in STAGES:
        if any(_has(stack, m) for m in markers):
            return stage, group
    return "other", "other"


def wait_of(sample: Sample) -> str:
    """The first of WAITS with a marker among the sample's C frames (Python frames are `… (x.py)`)."""
    native = ";".join(f for f in sample.frames if not f.endswith(".py)") and "(<" not in f)
    if sample.frames and _UNNAMED_LIBC.match(sample.frames[-1]):
        native += ";<unresolved libc leaf>"
    return next(name for name, markers in WAITS if any(m in native for m in markers))


def _committer(sample: Sample) -> str:
    """The bot's function that asked for this database work (the innermost bot frame above
    Session.commit for a commit, above the leaf for a query)."""
    at = next((i for i, f in enumerate(sample.frames) if f.startswith("Session.commit (")),
              len(sample.frames))
    return next((f for f in reversed(sample.frames[:at]) if "(bot/" in f), "-")


# -- summing up -----------------------------------------------------------------------------------


@dataclass
class Profile:
    """One recording: its samples, read once, and the mails of the run (for ms per mail)."""

    samples: list[Sample]
    n: int

    @classmethod
    def read(cls, path: Path, n: int) -> "Profile":
        return cls(read_samples(path), n)

    def ms(self, count: float) -> float:
        return count * MS_PER_SAMPLE / self.n if self.n else 0.0

    def main(self) -> list[Sample]:
        return [s for s in self.samples if s.process == "bot" and s.thread == "main"]

    def by(self, key, samples: list[Sample] | None = None) -> Counter:
        counts: Counter = Counter()
        for s in self.main() if samples is None else samples:
            counts[key(s)] += s.count
        return counts


def _own(s: Sample) -> str:
    return s.frames[-1] if s.frames else "(no Python frame: interpreter start or exit)"


def _cumulative(profile: Profile, bot_only: bool) -> Counter:
    counts: Counter = Counter()
    for s in profile.main():
        # module bodies (imports) are start-up, already a stage of their own
        for frame in {f for f in s.frames if not bot_only or ("(bot/" in f and not f.startswith("<module>"))}:
            counts[frame] += s.count
    return counts


def tables(wall: Profile, gil: Profile | None, native: Profile | None = None,
           top: int = 15) -> list[tuple[str, list[str], list[list]]]:
    """(title, headers, rows) of the printed summary: the main thread by group, by stage, its top
    functions, the database work of every thread by caller, the other threads and processes, and
    what every thread waits for."""
    main_total = sum(s.count for s in wall.main())
    gil_of = (lambda key: gil.by(key)) if gil else (lambda key: Counter())

    def share(count: int) -> str:
        return f"{100 * count / main_total:.1f}%" if main_total else "-"

    def both(count: int, gil_count: int) -> list[str]:
        return [f"{wall.ms(count):.2f}", share(count), f"{gil.ms(gil_count):.2f}" if gil else "-"]

    head = ["wall ms/mail", "share", "GIL ms/mail"]
    out = []
    groups, gil_groups = wall.by(lambda s: stage_of(s)[1]), gil_of(lambda s: stage_of(s)[1])
    out.append(("main thread by group (wall: waiting included; GIL: Python work)", ["group", *head],
                [[g, *both(groups[g], gil_groups[g])] for g in GROUP_ORDER if groups[g] or gil_groups[g]]
                + [["total", *both(main_total, sum(gil_groups.values()))]]))
    stages, gil_stages = wall.by(stage_of), gil_of(stage_of)
    out.append(("main thread by stage", ["stage", "group", *head],
                [[st, gr, *both(c, gil_stages[(st, gr)])] for (st, gr), c in stages.most_common()]))
    cum = _cumulative(wall, bot_only=False)
    out.append(("main thread, wall: top functions by own samples (the leaf of the stack)",
                ["function", "own ms/mail", "cumulative ms/mail"],
                [[f, f"{wall.ms(c):.2f}", f"{wall.ms(cum[f]):.2f}"] for f, c in wall.by(_own).most_common(top)]))
    if gil:
        gil_cum = _cumulative(gil, bot_only=False)
        out.append(("main thread, holding the GIL: top functions by own samples",
                    ["function", "own ms/mail", "cumulative ms/mail"],
                    [[f, f"{gil.ms(c):.2f}", f"{gil.ms(gil_cum[f]):.2f}"]
                     for f, c in gil.by(_own).most_common(top)]))
    # Every sample shares the entry chain (cli, run_once, fetch_pass): leave out what is on most stacks.
    bot_cum, gil_bot_cum = _cumulative(wall, True), (_cumulative(gil, True) if gil else Counter())
    out.append(("main thread: the bot's functions by cumulative samples (the step with all it calls)",
                ["function", *head],
                [[f, *both(c, gil_bot_cum[f])] for f, c in bot_cum.most_common()
                 if c < 0.6 * main_total][:top]))
    out.append(("database work by caller, every thread of the bot", ["thread", "caller", "kind", *head[:1],
                "GIL ms/mail"], _database_rows(wall, gil)))
    out.append(("the other threads and processes: busy time per mail (idle left out), summed over "
                "the threads of a kind", ["threads", "busy wall ms/mail", "GIL ms/mail",
                                          "top busy stages, wall ms/mail"], _other_rows(wall, gil)))
    if native:
        out.append(("what each thread is doing, from the C frames (--native), ms/mail summed over "
                     "the threads of a kind", ["threads", *(name for name, _m in WAITS)], _wait_rows(native)))
    return out


def _wait_rows(native: Profile) -> list[list]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for s in native.samples:
        if stage_of(s)[1] != "idle" or (s.process, s.thread) == ("bot", "main"):
            counts[_kind(s)][wait_of(s)] += s.count
    order = ["bot: main", "bot: sender", "bot: pool", "worker: main"]
    kinds = [k for k in order if k in counts] + sorted(k for k in counts if k not in order)
    return [[k, *(f"{native.ms(counts[k][name]):.1f}" for name, _m in WAITS)] for k in kinds]


def _database_key(s: Sample):
    group = stage_of(s)[1]
    if s.process != "bot" or group not in ("database commits", "database queries"):
        return None
    return s.thread, _committer(s), "commit" if group == "database commits" else "query"


def _database_rows(wall: Profile, gil: Profile | None, top: int = 12) -> list[list]:
    counts = wall.by(_database_key, wall.samples)
    gil_counts = gil.by(_database_key, gil.samples) if gil else Counter()
    del counts[None]
    return [[t, f, kind, f"{wall.ms(c):.2f}", f"{gil.ms(gil_counts[(t, f, kind)]):.2f}" if gil else "-"]
            for (t, f, kind), c in counts.most_common(top)]


def _kind(s: Sample) -> str:
    return f"{s.process}: {s.thread}"


def _other_rows(wall: Profile, gil: Profile | None) -> list[list]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in wall.samples:
        if (s.process, s.thread) != ("bot", "main"):
            groups[_kind(s)].append(s)
    gil_busy: Counter = Counter()
    for s in gil.samples if gil else []:
        if (s.process, s.thread) != ("bot", "main") and stage_of(s)[1] not in ("idle", "start-up"):
            gil_busy[_kind(s)] += s.count
    rows = []
    for kind, samples in sorted(groups.items()):
        threads = len({(s.process, s.tid) for s in samples})  # workers are processes: pid = tid
        busy = [(st, c) for (st, gr), c in wall.by(stage_of, samples).most_common()
                if gr not in ("idle", "start-up")]
        top = "; ".join(f"{st} {wall.ms(c):.1f}" for st, c in busy[:3])
        rows.append([f"{kind} (x{threads})", f"{wall.ms(sum(c for _s, c in busy)):.2f}",
                     f"{gil.ms(gil_busy[kind]):.2f}" if gil else "-", top])
    return rows


# -- recording a run three times and printing the summary -----------------------------------------


def profile_run(run, n: int, name: str, out_dir: Path, unprofiled: float | None, print_table) -> None:
    """`run(mode, wrap)` runs the bot once, on a fresh database, under the command prefix `wrap` and
    returns bot_pass's result; it is called once per mode (wall, GIL, native). Prints where the time
    goes."""
    paths = {mode: out_dir / f"pyspy-{name}-{mode}.txt" for mode in MODES}
    seconds = {}
    for mode, path in paths.items():
        print(f"profile: {name} under py-spy ({mode}) ...", flush=True)
        result = run(mode, wrap(path, mode))
        if result is None:
            print(f"profile: {name} skipped")
            return
        seconds[mode] = result["process_seconds"]
    profiles = {mode: Profile.read(path, n) for mode, path in paths.items()}
    took = ", ".join(f"{s:.1f} s ({mode})" for mode, s in seconds.items())
    print(f"\nWhere `run --once` ({name}, {n} mails) spends its time: py-spy at {RATE} Hz, raw stacks in "
          f"{out_dir}/pyspy-{name}-*.txt. Under py-spy the runs took {took}"
          + (f"; unprofiled {unprofiled:.1f} s (median of the rounds)" if unprofiled else "") + ".")
    for title, headers, rows in tables(profiles["wall"], profiles["gil"], profiles["native"]):
        print_table(f"{name}: {title}", headers, rows)
    count_sql(run, n, name, out_dir, print_table)


# -- counting the bot's SQL ----------------------------------------------------------------------

SQLCOUNT = Path(__file__).resolve().parent / "sqlcount"  # holds the sitecustomize that counts
SQL_COLUMNS = ["SELECT", "INSERT", "UPDATE", "DELETE", "other", "COMMIT", "checkout"]


def sql_wrap(output: Path) -> list[str]:
    """A command prefix (env(1)) that loads bench/sqlcount/sitecustomize.py into the bot."""
    path = os.pathsep.join(p for p in (str(SQLCOUNT), os.environ.get("PYTHONPATH", "")) if p)
    return ["env", f"PYTHONPATH={path}", f"RB_BENCH_SQLCOUNT={output}"]


def read_sql_counts(output: Path) -> dict[str, Counter]:
    """{thread kind: Counter(verb)} summed over the files the bot's processes wrote."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for path in output.parent.glob(output.name + ".*"):
        for key, n in json.loads(path.read_text()).items():
            thread, verb = key.split("\t")
            kind = "main" if thread == "MainThread" else "sender" if thread.startswith("outbox-sender") else thread
            counts[kind][verb if verb in SQL_COLUMNS else "other"] += n
    return counts


def sql_rows(counts: dict[str, Counter], n: int) -> list[list]:
    return [[kind, *(f"{c[col] / n:.1f}" for col in SQL_COLUMNS)] for kind, c in sorted(counts.items())]


def count_sql(run, n: int, name: str, out_dir: Path, print_table) -> None:
    """`run(mode, wrap)` as for profile_run; prints the statements, commits and sessions per mail."""
    output = out_dir / f"sqlcount-{name}"
    for old in out_dir.glob(output.name + ".*"):
        old.unlink()
    print(f"profile: {name} counting its SQL ...", flush=True)
    if run("sql", sql_wrap(output)) is None:
        return
    print_table(f"{name}: SQL per mail by thread (statements by verb, commits, connection checkouts = "
                f"sessions), one more run with bench/sqlcount on PYTHONPATH", ["thread", *SQL_COLUMNS],
                sql_rows(read_sql_counts(output), n))
