#!/usr/bin/env python3
"""Where a backlog's CPU goes: the bot's `run --once` with its answers sent, and the same run with
nothing sent; the machine's CPU split by process; optionally the same against another checkout.

bench_compare.py times the bot to its replies delivered and counts the machine's CPU as a whole.
This script asks two narrower questions on the same backlog (the mix of bench_compare, SQLite):

  * how much of a run is the mail server's: the CPU each process of the machine used during the
    run (Dovecot's LMTP, auth and IMAP; the rig's SMTP relay, which runs in this process), from
    /proc, beside the bot's own (its process tree);
  * how fast the intake goes when sending costs nothing: the mode `nosmtp` writes the answers into
    the local outbox Maildir, as the bot does without an [smtp] section, so the relay and the LMTP
    deliveries of the 640 answers and copies are out of the run.

  * how much the mail server alone needs for what the bot sends: the mode `rig` sends the answers
    of the last `smtp` run again (the same bytes, recipients and sent copy, from its outbox), from
    as many connections as the bot uses, by a bare smtplib client in a process of its own, with
    nothing else running: the floor under any run that sends them.

Modes, run in the order given (alternate them: the machine's speed drifts): `smtp` (the default
configuration), `nosmtp`, and `rig` after an `smtp` run. `smtp` and `nosmtp` with `@DIR` run the
code of another checkout DIR instead (its `bot` package first on PYTHONPATH), for an A/B of a
change: `smtp,smtp@/tmp/base,smtp,smtp@/tmp/base`; `:KEY=VALUE` after them (repeatable) sets a key
of config.toml for that run, for an A/B of a setting: `smtp,smtp:smtp.connections=8,smtp,...`.

Each run prints its seconds (the bot: process start to exit, and `run --once` waits for its sent
copies, so the answers are delivered then; `rig`: first connection to last QUIT, and the rig
delivers before it answers a final dot), msg/s, the client's CPU (the bot's process tree, or the
bare client's) and the machine's per mail, and with --by-process the other processes' CPU per mail.
A bot run also shows its timeline from its log, in seconds from its start: the first answer sent,
the last mail decided and the last answer sent. A run is its first answer plus the time the
server takes for the rest; what comes after the last decision is the senders' backlog.

--smtp-delay-ms D puts the rig's SMTP server "across the internet" for the bot: a proxy
(bench/delayproxy.py) holds every chunk D ms in each direction, so each command that waits for its
reply pays a round trip of 2 x D, as against a provider's server. The mode `rig` is not delayed.
--imap-delay-ms D does the same for the bot's IMAP connections (the inbox at a provider): each
SEARCH, FETCH and MOVE then waits a round trip.

Run: .venv/bin/python bench/bench_split.py [--n 500] [--modes smtp,nosmtp,smtp,nosmtp] [--by-process]
     [--smtp-delay-ms D] [--imap-delay-ms D]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as common  # noqa: E402
from benchlib import INTAKE, print_table  # noqa: E402
from delayproxy import DelayProxy  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def process_cpu() -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds so far) of every process on the machine."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        found[int(pid)] = (name, (int(rest[11]) + int(rest[12])) / HZ)
    return found


def by_name(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds used between two snapshots, summed by process name (the processes that ended
    in between, such as the bot itself, are not in `after`: their CPU is counted as children)."""
    used: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        if pid == os.getpid():
            continue  # this process: own_cpu()
        used[name] = used.get(name, 0.0) + cpu - before.get(pid, (name, 0.0))[1]
    return used


def own_cpu() -> float:
    """This process: the rig's SMTP relay runs in one of its threads, and nothing else runs here
    during a run."""
    return sum(os.times()[:2])


def timeline(log: str, start: float) -> dict[str, float | None]:
    """Seconds from `start` (a wall-clock time) to the first answer sent, the last mail decided and
    the last answer sent, read from the text log of the run (the lines after `start` only)."""
    first_sent = last_decided = last_sent = None
    for line in log.splitlines():
        match = _LOG_LINE.match(line)
        if not match:
            continue
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp() - start
        if at < 0:
            continue  # an earlier run's line (the schema's, or another mode's)
        if match["logger"] == "bot.outbox.queue" and match["text"].startswith("SENT "):
            first_sent = at if first_sent is None else first_sent
            last_sent = at
        elif match["logger"] == "bot.intake.pipeline" and " <" in match["text"]:
            last_decided = at
    return {"first_sent": first_sent, "last_decided": last_decided, "last_sent": last_sent}


_LOG_LINE = re.compile(r"(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ (?P<logger>\S+) (?P<text>.*)")


def without_smtp(config: Path) -> None:
    """The [smtp] section out: the bot writes its answers into the outbox Maildir instead."""
    kept, skipping = [], False
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            skipping = line.strip() == "[smtp]"
        if not skipping:
            kept.append(line)
    config.write_text("\n".join(kept) + "\n", encoding="utf-8")


def measured(action):
    """(what `action()` returns, the CPU it cost): its children's (`cpu`), the machine's (`busy`),
    and every other process's by name (`others`, the rig's relay in this one among them)."""
    procs, busy, cpu, own = process_cpu(), common.machine_busy(), common.children_cpu(), own_cpu()
    result = action()
    busy, cpu, own = common.machine_busy() - busy, common.children_cpu() - cpu, own_cpu() - own
    others = by_name(procs, process_cpu())
    others["the rig's SMTP relay (this process)"] = own
    return result, {"cpu": cpu, "busy": busy, "others": others}


# The bare client of the `rig` mode: the messages from a pickle, sent from N connections made as the
# bot makes them (STARTTLS against the rig's certificate, AUTH, TCP_NODELAY); prints its seconds.
RIG_CLIENT = r"""
import json, pickle, smtplib, socket, ssl, sys, threading, time
cfg = json.loads(sys.argv[1])
messages = pickle.load(open(cfg["messages"], "rb"))
def connect():
    smtp = smtplib.SMTP(cfg["host"], cfg["port"], local_hostname="bench.rb.test", timeout=60)
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    smtp.ehlo(); smtp.starttls(context=ssl.create_default_context(cafile=cfg["ca"])); smtp.ehlo()
    smtp.login(cfg["user"], cfg["password"])
    return smtp
def send(first):
    smtp = connect()
    for mail_from, rcpts, raw in messages[first::cfg["connections"]]:
        smtp.sendmail(mail_from, rcpts, raw, mail_options=[] if raw.isascii() else ["BODY=8BITMIME"])
    smtp.quit()
t0 = time.monotonic()
threads = [threading.Thread(target=send, args=(k,)) for k in range(cfg["connections"])]
for t in threads: t.start()
for t in threads: t.join()
print(time.monotonic() - t0)
"""


def rig_run(rig, runs: list[dict], senders: list[str], work: Path, index: int) -> dict:
    """Send the answers of the last `smtp` run again, as they went (with the sent copy as a second
    recipient), by the bare client, and nothing else."""
    source = next((r for r in reversed(runs) if r["mode"].partition(":")[0].partition("@")[0] == "smtp"), None)
    if source is None:
        raise SystemExit("the mode rig sends the answers of an earlier smtp run: put one before it")
    with sqlite3.connect(source["root"] / "bot.db") as db:
        rows = db.execute("SELECT mail_from, recipients, raw FROM outbox WHERE status = 'sent' ORDER BY id").fetchall()
    from bot.outbox.transport import crlf

    messages = [(mail_from, [*recipients.split(","), mail_from], crlf(raw)) for mail_from, recipients, raw in rows]
    path = work / f"{index}-rig.pickle"
    path.write_bytes(pickle.dumps(messages))
    cfg = {"host": rig.host, "port": rig.smtp_port, "ca": str(rig.ca_file), "user": rig.smtp_user,
           "password": rig.smtp_password, "connections": source["connections"], "messages": str(path)}
    common.clear(rig, [INTAKE, *senders, *rig.users])
    done, usage = measured(lambda: subprocess.run([sys.executable, "-c", RIG_CLIENT, json.dumps(cfg)],
                                                  capture_output=True, text=True, check=True))
    if done.stderr:
        raise SystemExit(f"the bare client failed:\n{done.stderr[-3000:]}")
    return {"mode": "rig", "seconds": float(done.stdout.split()[-1]), **usage,
            "summary": f"{len(messages)} answers of run {source['index']} sent again, "
                       f"{source['connections']} connections, the bare client"}


def one_run(rig, mails: list[bytes], senders: list[str], work: Path, index: int, mode: str,
            smtp_port: int = 0, imap_port: int = 0) -> dict:
    run, *settings = mode.split(":")
    kind, _, code = run.partition("@")
    if kind not in ("smtp", "nosmtp"):
        raise SystemExit(f"unknown mode {mode!r}: smtp, nosmtp (each with an optional @DIR "
                         "and :KEY=VALUE settings) or rig")
    root = work / f"{index}-{kind}"
    env = common.bot_env(rig, root)
    if kind == "nosmtp":
        without_smtp(env.config)
    elif smtp_port:
        through(env.config, rig.smtp_port, smtp_port)
    if imap_port:
        through(env.config, rig.imap_port, imap_port)
    common.set_config(env.config, settings)
    saved = os.environ.get("PYTHONPATH")
    if code:
        common.compile_bot(Path(code))  # compiled as this checkout is (bot_env): a fair A/B
        os.environ["PYTHONPATH"] = str(Path(code).resolve())  # env.env() copies os.environ
    try:
        common.clear(rig, [INTAKE, *senders, *rig.users])  # every mailbox empty, as in bench_compare
        common.create_schema(env)
        common.multiappend(rig, INTAKE, mails)
        start = time.time()
        (seconds, summary), usage = measured(lambda: common.run_bot_once(env))
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return {"mode": mode, "seconds": seconds, "summary": summary, **usage, "root": root, "index": index,
            "connections": smtp_connections(env.config),
            **timeline((root / "run.log").read_text(encoding="utf-8", errors="replace"), start)}


def delayed(stack: contextlib.ExitStack, rig, name: str, port: int, delay_ms: float) -> int:
    """The port of a proxy holding each chunk `delay_ms` each way in front of the rig's `port`, open
    until `stack` closes; 0 (no proxy) without a delay."""
    if not delay_ms:
        return 0
    proxy_port = stack.enter_context(DelayProxy((rig.host, port), delay_ms / 1000, host=rig.host))
    print(f"the bot's {name} goes through a proxy holding each chunk {delay_ms:g} ms each way "
          f"(round trip {2 * delay_ms:g} ms)", flush=True)
    return proxy_port


def through(config: Path, port: int, proxy_port: int) -> None:
    """The bot's [smtp] or [imap] port moved from the rig's to the delaying proxy's."""
    text = config.read_text(encoding="utf-8")
    line = f"\nport = {port}\n"
    if text.count(line) != 1:
        raise SystemExit(f"{config}: no single line 'port = {port}' to point at the proxy")
    config.write_text(text.replace(line, f"\nport = {proxy_port}\n"), encoding="utf-8")


def smtp_connections(config: Path) -> int:
    """The bot's SMTP connections in a backlog: as configured, else its default."""
    import tomllib

    from bot.config import SECTIONS

    smtp = tomllib.loads(config.read_text(encoding="utf-8")).get("smtp")
    return 0 if smtp is None else smtp.get("connections", SECTIONS["smtp"].model_fields["connections"].default)


TIMELINE = ("first_sent", "last_decided", "last_sent")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--modes", default="smtp,nosmtp,smtp,nosmtp")
    ap.add_argument("--by-process", action="store_true", help="the other processes' CPU per mail too")
    ap.add_argument("--smtp-delay-ms", type=float, default=0.0, metavar="D",
                    help="the bot reaches the rig's SMTP through a proxy that holds each chunk D ms "
                         "each way (round trip 2 x D), as a provider's server across the internet")
    ap.add_argument("--imap-delay-ms", type=float, default=0.0, metavar="D",
                    help="the same for the bot's IMAP connections")
    common.add_mail_store_option(ap)
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    senders = common.sender_addresses(30)
    mix = common.MailMix(senders)
    mails = [raw for _s, raw in mix.mails(args.n, "split")]
    runs = []
    with common.start_rig(args.mail_store) as rig, contextlib.ExitStack() as stack:
        # The runs' storage (~25 MB a run) goes when the last run is measured, not before: a removal
        # frees inodes, and on this machine's disk that slows the next file made (see bench/README.md).
        work = Path(tempfile.mkdtemp(prefix="rb-bench-split-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        common.prepare(rig, senders)
        proxy_port = delayed(stack, rig, "SMTP", rig.smtp_port, args.smtp_delay_ms)
        imap_proxy_port = delayed(stack, rig, "IMAP", rig.imap_port, args.imap_delay_ms)
        for index, mode in enumerate(modes):
            run = (rig_run(rig, runs, senders, work, index) if mode == "rig"
                   else one_run(rig, mails, senders, work, index, mode, proxy_port, imap_proxy_port))
            runs.append(run)
            print(f"{mode}: {run['seconds']:.2f} s, {args.n / run['seconds']:.1f} msg/s", flush=True)
    n = args.n
    delay = "".join(f"; the bot's {name} {2 * ms:g} ms round trip away"
                    for name, ms in (("SMTP", args.smtp_delay_ms), ("IMAP", args.imap_delay_ms)) if ms)
    print(f"\nbench_split: {mix.describe(n)}, `run --once` on SQLite{delay}")
    print(common.store_line(rig))
    print_table("each run (per mail: ms of CPU; first answer, last decision, last answer: s from the start)",
                ["mode", "s", "msg/s", "client CPU", "machine CPU", "first answer", "last decision",
                 "last answer", "summary"],
                [[r["mode"], f"{r['seconds']:.2f}", f"{n / r['seconds']:.1f}", f"{r['cpu'] / n * 1000:.1f}",
                  f"{r['busy'] / n * 1000:.1f}", *(_seconds(r.get(k)) for k in TIMELINE), r["summary"]]
                 for r in runs])
    if args.by_process:
        names = sorted({k for r in runs for k, v in r["others"].items() if v / n * 1000 >= 0.2})
        print_table("the other processes during each run, ms of CPU per mail (those >= 0.2)",
                    ["mode", *names],
                    [[r["mode"], *(f"{r['others'].get(k, 0.0) / n * 1000:.1f}" for k in names)] for r in runs])
    return 0


if __name__ == "__main__":
    sys.exit(main())
