#!/usr/bin/env python3
"""Issue 12's table in one run: the two limits, django-helpdesk and reception-bot on the same mailbox.

N registration mails of the usual mix (56 % xlsx, 37 % docx, 7 % typed into the body; 30 senders who
are rig users) are put into intake@rb.test on the rig's Dovecot. Each round measures, on that same
backlog:

  * the LIMIT: fetch (imapclient, FETCH BODY.PEEK[] in batches of 100) + parse (mail-parser; openpyxl
    read-only / python-docx, or the body's lines) in one bare loop;
  * the REPLYING LIMIT: that loop plus one short threaded reply per mail (In-Reply-To/References, a
    line of Chinese) over ONE SMTP connection to the rig's submission port (STARTTLS + AUTH, like the
    bot), timed until the replies are in the senders' mailboxes;
  * django-helpdesk 2.6.1 `get_email` (a ticket per mail, the form saved, an ack mailed; bench_peer.py);
  * reception-bot `run --once` on SQLite and on PostgreSQL, as configured by default (sent copy on,
    four SMTP connections, a form-reading worker), timed from process start until every reply is in
    its sender's mailbox; `run --once` itself ends only after the sent copies are back.

Every system gets a fresh copy of the backlog (MULTIAPPEND) and a database prepared beforehand (the
bot's schema by a `run --once` on the empty inbox, helpdesk's by `migrate`): neither is timed. The
systems run in an order rotated from round to round, and the limits are measured before and after
them (their mean is the round's limit), so that a change of the machine's load lands on every row.
Rates are the medians over the rounds (--repeat, default 3); ratios are the medians of the per-round
ratios, each measured side by side, so they may differ a little from the ratio of two medians.

Targets (issue 12): reception-bot >= 1.0x the replying limit, >= 0.6x the limit and >= 3x
django-helpdesk, on SQLite and on PostgreSQL.

--profile: after the rounds, the bot runs three more times per database under py-spy (wall time, the
GIL, the C frames of the waits), and a summary says where its time goes, by stage, by function and by
thread (pyspy_profile.py).

--cpus N: everything (the rig's servers, a throwaway PostgreSQL, the limits and every system) runs
on N of the CPUs this process may use, to see how each row scales with cores on one machine.

Run: .venv/bin/python bench/bench_compare.py [--n 500] [--repeat 3] [--profile] [--cpus N]
Exit status 0 whenever the measurement itself worked (the verdicts are in the table).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_peer as peer  # noqa: E402
import benchlib as common  # noqa: E402
import pyspy_profile as pyspy  # noqa: E402
from benchlib import INTAKE, OUT, metric, print_table, result_json  # noqa: E402

SYSTEMS = ("bot-sqlite", "bot-postgres", "helpdesk")
LABELS = {
    "limit": "fetch + parse, one bare loop (the limit)",
    "replying": "the same loop + one short reply per mail over one SMTP connection (the replying limit)",
    "helpdesk": f"django-helpdesk {peer.PEER_VERSION} get_email (ticket + ack)",
    "bot-sqlite": "reception-bot run --once, SQLite, replies and copies delivered",
    "bot-postgres": "reception-bot run --once, PostgreSQL, replies and copies delivered",
}
TARGETS = (("limit", 0.6), ("replying", 1.0), ("helpdesk", 3.0))  # bot >= this many times the row
TARGET_NAMES = {"limit": "the limit", "replying": "the replying limit", "helpdesk": "django-helpdesk"}


@dataclass
class Bench:
    """What every measurement of the run shares: the rig, the backlog, where to put databases."""

    rig: object
    senders: list[str]
    mails: list[bytes]
    work: Path
    mix_text: str = ""
    pg: object | None = None
    pg_note: str = ""
    peer_note: str = ""
    pg_databases: list[str] = field(default_factory=list)
    bot_settings: list[str] = field(default_factory=list)  # --bot-set, "section.key=value"
    limit_xlsx: str = "openpyxl"  # --limit-xlsx: the limits' .xlsx reader

    @property
    def n(self) -> int:
        return len(self.mails)

    def fresh_mailboxes(self) -> None:
        common.clear(self.rig, [INTAKE, *self.senders, *self.rig.users])

    def backlog(self) -> None:
        """The backlog in the intake INBOX, nothing else in any mailbox (not timed)."""
        self.fresh_mailboxes()
        common.multiappend(self.rig, INTAKE, self.mails)


# -- one measurement each -------------------------------------------------------------------------


def measure_limits(b: Bench) -> dict:
    """Seconds and CPU seconds of the limit and of the replying limit on the backlog, which they leave
    as it was (PEEK). Both loops run in this thread: thread_time() is their CPU, not the servers'."""
    b.backlog()
    cpu, busy = time.thread_time(), common.machine_busy()
    secs, messages, forms = common.limit_pass(b.rig, INTAKE, xlsx=b.limit_xlsx)
    limit_cpu, cpu = time.thread_time() - cpu, time.thread_time()
    limit_busy, busy = common.machine_busy() - busy, common.machine_busy()
    replying = common.reply_limit_pass(b.rig, INTAKE, b.senders, xlsx=b.limit_xlsx)
    replying_cpu = time.thread_time() - cpu
    replying_busy = common.machine_busy() - busy
    if messages != b.n or forms != b.n or replying["delivered"] != b.n:
        print(f"WARNING: limit read {messages} mails and {forms} forms, the replying limit delivered "
              f"{replying['delivered']} replies; expected {b.n} each", flush=True)
    return {"limit_s": secs, "replying_s": replying["seconds"], "limit_cpu": limit_cpu,
            "replying_cpu": replying_cpu, "limit_busy": limit_busy, "replying_busy": replying_busy}


def bot_database(b: Bench, system: str, root: Path) -> str | None:
    if system == "bot-sqlite":
        return f"sqlite:///{root / 'bot.db'}"
    if b.pg is None:
        return None
    name = b.pg.create_database("bench_")
    b.pg_databases.append(name)
    return b.pg.url(name)


def run_bot(b: Bench, system: str, tag: str, wrap: list[str] | None = None) -> dict | None:
    """One `run --once` timed to its replies delivered, on a database whose schema is already made."""
    root = b.work / f"{tag}-{system}"
    url = bot_database(b, system, root)
    if url is None:
        return None
    env = common.bot_env(b.rig, root, database_url=url)
    common.set_config(env.config, b.bot_settings)
    b.fresh_mailboxes()
    common.create_schema(env)
    common.multiappend(b.rig, INTAKE, b.mails)
    cpu, busy = common.children_cpu(), common.machine_busy()
    result = common.bot_pass(b.rig, env, b.senders, b.n, wrap=wrap)
    result["cpu"], result["busy"] = common.children_cpu() - cpu, common.machine_busy() - busy
    result["startup"] = common.startup_seconds(env)  # the inbox is empty now; same database
    if result["delivered"] != b.n or result["unsent"]:
        print(f"WARNING: {system} delivered {result['delivered']} of {b.n} replies, "
              f"{result['unsent']} mail(s) unsent after {result['runs']} run(s)", flush=True)
    return result


def run_helpdesk(b: Bench, tag: str) -> dict | None:
    if b.peer_note:
        return None
    penv = peer.prepare_peer(b.rig, b.work / f"{tag}-helpdesk")
    b.backlog()
    cpu, busy = common.children_cpu(), common.machine_busy()
    result = peer.peer_pass(b.rig, penv, b.senders, b.n)
    result["cpu"], result["busy"] = common.children_cpu() - cpu, common.machine_busy() - busy
    if result["tickets"] != b.n or result["acks"] != b.n:
        print(f"WARNING: helpdesk made {result['tickets']} tickets and delivered {result['acks']} acks; "
              f"expected {b.n}", flush=True)
    return result


def one_round(b: Bench, r: int, systems: list[str]) -> dict:
    """Rates of every row in round r, and the details of each system's run."""
    before = measure_limits(b)
    runs = {}
    for system in systems[r % len(systems):] + systems[:r % len(systems)]:
        print(f"round {r}: {system} ...", flush=True)
        runs[system] = run_helpdesk(b, f"r{r}") if system == "helpdesk" else run_bot(b, system, f"r{r}")
    after = measure_limits(b)
    rates = {"limit": b.n / ((before["limit_s"] + after["limit_s"]) / 2),
             "replying": b.n / ((before["replying_s"] + after["replying_s"]) / 2)}
    rates.update({s: run["rate"] for s, run in runs.items() if run})
    cpu = {key: (before[f"{key}_cpu"] + after[f"{key}_cpu"]) / 2 for key in ("limit", "replying")}
    cpu.update({s: run["cpu"] for s, run in runs.items() if run})
    busy = {key: (before[f"{key}_busy"] + after[f"{key}_busy"]) / 2 for key in ("limit", "replying")}
    busy.update({s: run["busy"] for s, run in runs.items() if run})
    print(f"round {r}: " + ", ".join(f"{k} {v:.1f} msg/s" for k, v in rates.items()), flush=True)
    return {"rates": rates, "cpu": cpu, "busy": busy, "runs": runs, "limits": (before, after)}


# -- the table ------------------------------------------------------------------------------------


def median_ratio(rounds: list[dict], a: str, b: str) -> float | None:
    values = [r["rates"][a] / r["rates"][b] for r in rounds if r["rates"].get(a) and r["rates"].get(b)]
    return statistics.median(values) if values else None


def median_rate(rounds: list[dict], key: str) -> float | None:
    values = [r["rates"][key] for r in rounds if r["rates"].get(key)]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def main_table(rounds: list[dict], rows_wanted: list[str], n: int) -> list[list]:
    nproc = common.machine()["nproc"]
    rows = []
    for key in rows_wanted:
        rate = median_rate(rounds, key)
        vs_peer = median_ratio(rounds, key, "helpdesk") if key.startswith("bot") else None
        cpu = [r["cpu"][key] for r in rounds if r["cpu"].get(key) is not None]
        busy = _per_mail(rounds, "busy", key, n)
        ceiling = nproc * 1000 / busy if busy else None
        rows.append([LABELS[key], fmt(rate, 1), fmt(median_ratio(rounds, key, "limit")),
                     fmt(median_ratio(rounds, key, "replying")), fmt(vs_peer, 2, "x"),
                     fmt(statistics.median(cpu) * 1000 / n if cpu else None, 1), fmt(busy, 1),
                     fmt(ceiling, 1)])
    return rows


def _per_mail(rounds: list[dict], what: str, key: str, n: int) -> float | None:
    """Median over the rounds of `what` (CPU seconds) per mail, in ms."""
    values = [r[what][key] for r in rounds if r.get(what, {}).get(key) is not None]
    return statistics.median(values) * 1000 / n if values else None


def target_rows(rounds: list[dict], bots: list[str]) -> tuple[list[list], list[dict]]:
    rows, metrics = [], []
    for key, bar in TARGETS:
        row = [f"reception-bot >= {bar:.1f}x {TARGET_NAMES[key]}"]
        for bot in bots:
            ratio = median_ratio(rounds, bot, key)
            db = "SQLite" if bot == "bot-sqlite" else "PostgreSQL"
            row.append("skipped" if ratio is None else f"{ratio_text(ratio, bar)} {common.verdict(ratio >= bar)}")
            metrics.append(metric(f"compare bot/{key}, {db}", "skipped" if ratio is None else round(ratio, 3),
                                  "x", f">= {bar:g}", None if ratio is None else ratio >= bar))
        rows.append(row)
    return rows, metrics


def ratio_text(ratio: float, bar: float) -> str:
    """Two decimals, or three where two would round a miss up to the bar (0.997 is not 1.00)."""
    text = f"{ratio:.2f}"
    return f"{ratio:.3f}" if (ratio >= bar) != (float(text) >= bar) else text


def round_rows(rounds: list[dict], keys: list[str]) -> list[list]:
    rows = []
    for key in keys:
        cells = [fmt(r["rates"].get(key), 1) for r in rounds]
        rows.append([key, *cells, _notes(rounds, key)])
    return rows


def _notes(rounds: list[dict], key: str) -> str:
    last = next((r["runs"].get(key) for r in reversed(rounds) if r["runs"].get(key)), None)
    if last is None:
        return ""
    if key == "helpdesk":
        return (f"{last['tickets']} tickets, {last['attachments']} forms saved, {last['acks']} acks; "
                f"its process {last['process_seconds']:.1f} s")
    return (f"{last['runs']} run(s), start-up alone {last['startup']:.1f} s; {last['summary']}; "
            f"{last['delivered']} replies delivered, {last['other_sent']} other mails sent"
            + (f"; {last['retried']} charged a second try" if last.get("retried") else ""))


# -- profile --------------------------------------------------------------------------------------


def profile_bot(b: Bench, system: str, unprofiled: float | None) -> None:
    """The bot three times more under py-spy (wall, GIL, native); prints where its time goes."""
    if system == "bot-postgres" and b.pg is None:
        print(f"profile: {system} skipped ({b.pg_note})")
        return
    pyspy.profile_run(lambda mode, wrap: run_bot(b, system, f"profile-{mode}", wrap=wrap), b.n, system, OUT,
                      unprofiled, print_table)


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500, help="mails in the backlog (default 500)")
    ap.add_argument("--senders", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the table shows medians (default 3)")
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help=f"which of {','.join(SYSTEMS)} to run besides the limits")
    ap.add_argument("--profile", action="store_true",
                    help="also record the bot under py-spy and print where its time goes")
    ap.add_argument("--profile-db", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    ap.add_argument("--bot-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting of the bot's config.toml for every bot run, e.g. smtp.connections=4 "
                         "or commit_batch=10 (repeatable; the value is written as TOML)")
    ap.add_argument("--server-connections", type=int, default=None, metavar="N",
                    help="the rig's SMTP server takes at most N connections at once and greets one more "
                         "with 421, as a provider that caps one account's connections (default: no cap)")
    ap.add_argument("--limit-xlsx", choices=("openpyxl", "calamine"), default="openpyxl",
                    help="the .xlsx reader of both limits' loops: openpyxl read-only (issue 12's "
                         "definition, the default) or calamine, which the bot reads ordinary forms with")
    ap.add_argument("--cpus", type=int, default=None, metavar="N",
                    help="run everything on N of the CPUs this process may use (its affinity, which "
                         "the rig's Dovecot and SMTP server, a throwaway PostgreSQL and every system "
                         "inherit; an already running PostgreSQL is not pinned)")
    common.add_mail_store_option(ap)
    args = ap.parse_args(argv)
    if args.cpus is not None and not 1 <= args.cpus <= len(os.sched_getaffinity(0)):
        ap.error(f"--cpus: 1 to {len(os.sched_getaffinity(0))} here")
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown:
        ap.error(f"unknown system(s): {', '.join(sorted(unknown))}")
    return args


def setup(rig, args, work: Path) -> Bench:
    senders = common.sender_addresses(args.senders)
    mix = common.MailMix(senders)
    b = Bench(rig, senders, [raw for _s, raw in mix.mails(args.n, "cmp")], work, mix.describe(args.n))
    b.bot_settings = list(args.bot_set)
    b.limit_xlsx = args.limit_xlsx
    common.prepare(rig, senders)
    if args.server_connections is not None:
        rig.smtp_faults.limit_sessions(args.server_connections)
        print(f"the rig's SMTP server takes at most {args.server_connections} connection(s) at once", flush=True)
    if "bot-postgres" in args.systems or "postgres" in args.profile_db:
        b.pg, why = common.postgres()
        b.pg_note = why or common.postgres_label(b.pg)
    if "helpdesk" in args.systems:
        ok, note = peer.install()
        print(f"{peer.PEER}: {note}", flush=True)
        b.peer_note = "" if ok else note
    return b


def teardown(b: Bench) -> None:
    if b.pg is None:
        return
    try:
        if b.pg.external:
            for name in b.pg_databases:
                b.pg.drop_database(name)
    finally:
        b.pg.stop()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cpus is not None:  # before any server starts: every child inherits the affinity
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.cpus])
        print(f"--cpus {args.cpus}: everything runs on CPU(s) {sorted(os.sched_getaffinity(0))}", flush=True)
    if args.profile:
        why = pyspy.ensure_pyspy()
        if why:
            print(f"--profile: {why}; profiling skipped")
            args.profile = False
    work = Path(tempfile.mkdtemp(prefix="rb-bench-compare-"))
    OUT.mkdir(parents=True, exist_ok=True)
    rounds = []
    with common.start_rig(args.mail_store) as rig:
        b = setup(rig, args, work)
        try:
            for r in range(args.repeat):
                rounds.append(one_round(b, r, args.systems))
            report(b, args, rounds)
            if args.profile:
                for db in [d.strip() for d in args.profile_db.split(",") if d.strip()]:
                    system = f"bot-{db}"
                    runs = [r["runs"][system]["process_seconds"] for r in rounds if r["runs"].get(system)]
                    profile_bot(b, system, statistics.median(runs) if runs else None)
        finally:
            teardown(b)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def report(b: Bench, args, rounds: list[dict]) -> None:
    keys = ["limit", "replying"] + [s for s in ("helpdesk", "bot-sqlite", "bot-postgres") if s in args.systems]
    title = (f"bench_compare: {b.n} registration mails ({b.mix_text}; {len(b.senders)} senders), "
             f"median of {len(rounds)} round(s)")
    print()
    print_table(title, ["tool", "msg/s", "vs limit", "vs replying limit", "bot vs helpdesk",
                        "client CPU ms/mail", "machine CPU ms/mail", "CPU ceiling msg/s"],
                main_table(rounds, keys, b.n))
    print("client CPU: the loop's own thread for the limits; the whole process tree (workers included) "
          "for helpdesk and the bot; the servers' CPU (Dovecot, the rig's SMTP, PostgreSQL) is not in it.")
    print(f"the limits read .xlsx forms with {b.limit_xlsx}" + (
        " read-only, as issue 12 defines them; the bot reads an ordinary form with calamine "
        "(bot/forms/xlsx.py): --limit-xlsx calamine gives the limits the same reader"
        if b.limit_xlsx == "openpyxl" else ", as the bot reads an ordinary form (--limit-xlsx calamine)"))
    print("machine CPU: every CPU of the machine busy during the row (/proc/stat): client, servers and "
          "anything else; CPU ceiling: the rate at which that much CPU per mail fills all "
          f"{common.machine()['nproc']} cores.")
    bots = [s for s in ("bot-sqlite", "bot-postgres") if s in args.systems]
    targets, metrics = target_rows(rounds, bots)
    print_table("targets of issue 12 (medians of the per-round ratios)",
                ["target", *("SQLite" if s == "bot-sqlite" else "PostgreSQL" for s in bots)], targets)
    print_table("each round, msg/s (systems in rotated order; limits: mean of before and after)",
                ["row", *(f"round {i}" for i in range(len(rounds))), "last round's run"],
                round_rows(rounds, keys))
    notes = [common.store_line(b.rig)]
    if "bot-postgres" in args.systems:
        notes.append(f"PostgreSQL: {b.pg_note}")
    if b.peer_note:
        notes.append(f"{peer.PEER} skipped: {b.peer_note}")
    if args.server_connections is not None:
        refused = sum(phase == "CONNECT" for phase, _reply in b.rig.smtp_faults.fired)
        notes.append(f"the rig's SMTP server took at most {args.server_connections} connection(s) at "
                     f"once and refused {refused} over the whole run (421 too many connections)")
    for note in notes:
        print(note)
    rates = [metric(f"compare {key}, {b.n} msgs", round(r, 1) if (r := median_rate(rounds, key)) else "skipped",
                    "msg/s", "", None) for key in keys]
    result_json("compare", rates + metrics)


if __name__ == "__main__":
    sys.exit(main())
