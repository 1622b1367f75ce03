"""The command line. One small function per command; the only place errors become exit codes."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from bot.errors import BotError, ConfigError, RuleFileError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="reception-bot：市长服务民营企业接待日 邮件受理机器人")
rules_app = typer.Typer(no_args_is_help=True, help="rule files")
ledger_app = typer.Typer(no_args_is_help=True, help="the demand ledger (企业诉求台账)")
cases_app = typer.Typer(no_args_is_help=True, help="cases")
case_app = typer.Typer(no_args_is_help=True, help="one case")
app.add_typer(rules_app, name="rules")
app.add_typer(ledger_app, name="ledger")
app.add_typer(cases_app, name="cases")
app.add_typer(case_app, name="case")


@dataclass
class Options:
    config: Optional[Path]
    rules: Optional[Path]
    today: Optional[date]


def _opts(ctx: typer.Context) -> Options:
    return ctx.find_root().obj


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", help="config file (default ./config.toml, else embedded)"),
    rules: Optional[Path] = typer.Option(None, "--rules", help="rules directory"),
    today: Optional[str] = typer.Option(None, "--today", help="evaluate as of YYYY-MM-DD"),
) -> None:
    ctx.obj = Options(config, rules, _parse_date(today, "--today") if today else None)


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} must be a date as YYYY-MM-DD, not {value!r}") from None


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


# --- intake ---------------------------------------------------------------

@app.command()
def run(ctx: typer.Context, once: bool = typer.Option(False, "--once", help="one pass, then exit")) -> None:
    """The daemon: fetch mail, decide, reply, send slips and reminders."""
    from bot.app import open_runtime, open_source, open_transport
    from bot.daemon import run_forever, run_once
    from bot.jobs import Jobs

    from bot.analysis import Analyser

    rt = open_runtime(_opts(ctx))
    source = open_source(rt)
    jobs = Jobs(rt)
    rt.analyser = Analyser(rt.config.parse_workers)
    if rt.config.smtp is not None:  # a Maildir outbox gains nothing from a second writer
        rt.extra_transports = [open_transport(rt.config) for _ in range(rt.config.smtp.connections - 1)]
    try:
        if once:
            result = run_once(rt, source, jobs)
            typer.echo(f"processed {result.processed}: " + ", ".join(
                f"{k}={v}" for k, v in sorted((result.outcomes or {}).items())), err=True)
        else:
            run_forever(rt, source, jobs)
    finally:
        rt.analyser.close()
        for transport in rt.extra_transports:
            transport.close()


@app.command()
def triage(ctx: typer.Context, file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Dry run on one message: the verdict, changing nothing."""
    from bot.app import triage_file

    verdict = triage_file(_opts(ctx), file)
    if as_json:
        _emit(verdict.to_json())
    else:
        typer.echo(f"{verdict.decision} {','.join(verdict.rule_ids)}")


@app.command()
def parse(ctx: typer.Context, file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the form read from a .xlsx, .docx or .eml file."""
    from bot.app import parse_file

    form = parse_file(_opts(ctx), file)
    _emit({**form.to_json(), "sources": form.sources_json()})  # sources: where each value was read


@app.command()
def forms(ctx: typer.Context, outdir: Path) -> None:
    """Write the blank registration form (.xlsx, .docx) and the slip template."""
    from bot.app import write_forms

    for path in write_forms(_opts(ctx), outdir):
        typer.echo(str(path))


@app.command()
def register(ctx: typer.Context, file: Path,
             channel: str = typer.Option(..., "--channel", help="phone | onsite")) -> None:
    """Enter a registration taken by phone or in person into the ledger."""
    from bot.app import register_file

    if channel not in ("phone", "onsite"):
        raise ConfigError("--channel must be phone or onsite")
    typer.echo(register_file(_opts(ctx), file, channel))


@app.command()
def reprocess(ctx: typer.Context) -> None:
    """Put quarantined mail back into the inbox to be processed again."""
    from bot.app import reprocess_quarantine

    typer.echo(f"restored {reprocess_quarantine(_opts(ctx))} message(s)")


# --- rules ------------------------------------------------------------------

@rules_app.command("check")
def rules_check(ctx: typer.Context) -> None:
    """Validate every rule file: file:line: message; exit 1 if any."""
    from bot.app import rules_dir
    from bot.rules.checks import check_rules, format_report

    errors, warnings = check_rules(rules_dir(_opts(ctx)))
    report = format_report(errors, warnings)
    if report:
        typer.echo(report, err=bool(errors))
    if errors:
        raise typer.Exit(1)
    typer.echo("rules ok", err=True)


@app.command()
def notice(ctx: typer.Context, session_id: str, outfile: Path) -> None:
    """Render the session notice (附件1) and warn when it is late."""
    from bot.app import render_notice_cmd

    for line in render_notice_cmd(_opts(ctx), session_id, outfile):
        typer.echo(line, err=True)


# --- after the reception ---------------------------------------------------------

@ledger_app.command("export")
def ledger_export(ctx: typer.Context, file: Path) -> None:
    from bot.followup.commands import ledger_export_cmd

    typer.echo(ledger_export_cmd(_opts(ctx), file))


@ledger_app.command("import")
def ledger_import(ctx: typer.Context, file: Path) -> None:
    from bot.followup.commands import ledger_import_cmd

    ok, summary = ledger_import_cmd(_opts(ctx), file)
    typer.echo(summary)
    if not ok:
        raise typer.Exit(1)


@app.command()
def assign(ctx: typer.Context, case: str, lead: str = typer.Option(..., "--lead"),
           co: list[str] = typer.Option([], "--co"),
           long_term: bool = typer.Option(False, "--long-term"),
           note: str = typer.Option("", "--note")) -> None:
    """Record the reception's assignment; slips go out."""
    from bot.followup.commands import assign_cmd

    typer.echo(assign_cmd(_opts(ctx), case, lead, co, long_term, note))


@app.command()
def resolve(ctx: typer.Context, case: str,
            on_site: bool = typer.Option(False, "--on-site"),
            explained: bool = typer.Option(False, "--explained"),
            note: str = typer.Option(..., "--note")) -> None:
    """Record a case solved at the meeting, or explained."""
    from bot.followup.commands import resolve_cmd

    if on_site == explained:
        raise ConfigError("give exactly one of --on-site or --explained")
    typer.echo(resolve_cmd(_opts(ctx), case, "on_site" if on_site else "explained", note))


@app.command()
def extend(ctx: typer.Context, case: str, to: str = typer.Option(..., "--to")) -> None:
    """Approve an extension: the result due date moves."""
    from bot.followup.commands import extend_cmd

    typer.echo(extend_cmd(_opts(ctx), case, _parse_date(to, "--to")))


@app.command()
def remind(ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """The reminders and escalations due today; without --dry-run they are queued."""
    from bot.followup.commands import remind_cmd

    out = remind_cmd(_opts(ctx), dry_run)
    if as_json:
        _emit(out)
    else:
        for r in out["reminders"]:
            typer.echo(f"{r['case']} {r['unit']} {r['kind']} {r['stage']} due {r['due']}")


@cases_app.command("list")
def cases_list(ctx: typer.Context, status: Optional[str] = typer.Option(None, "--status"),
               overdue: bool = typer.Option(False, "--overdue"),
               unit: Optional[str] = typer.Option(None, "--unit"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    from bot.followup.commands import cases_list_cmd

    rows = cases_list_cmd(_opts(ctx), status, overdue, unit)
    if as_json:
        _emit(rows)
    else:
        for r in rows:
            typer.echo(f"{r['case']}\t{r['status']}\t{r['session'] or '-'}\t{r['field'] or '-'}\t{r['enterprise_name']}")


@case_app.command("show")
def case_show(ctx: typer.Context, case: str, as_json: bool = typer.Option(False, "--json")) -> None:
    from bot.followup.commands import case_show_cmd

    data = case_show_cmd(_opts(ctx), case)
    if as_json:
        _emit(data)
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")


@app.command()
def publish(ctx: typer.Context, outdir: Path) -> None:
    """The public progress export (no personal data)."""
    from bot.followup.commands import publish_cmd

    for path in publish_cmd(_opts(ctx), outdir):
        typer.echo(str(path))


@app.command()
def report(ctx: typer.Context, out: Path, date_from: str = typer.Option(..., "--from"),
           date_to: str = typer.Option(..., "--to")) -> None:
    """The leaders' summary report (.docx)."""
    from bot.followup.commands import report_cmd

    report_cmd(_opts(ctx), _parse_date(date_from, "--from"), _parse_date(date_to, "--to"), out)
    typer.echo(str(out))


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except BotError as exc:
        code = 2 if isinstance(exc, ConfigError) else 1
        if isinstance(exc, RuleFileError):
            code = 2
        typer.echo(f"error: {exc}", err=True)
        sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.exceptions.TyperException as exc:  # usage errors from the parser (exit 2)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {message}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
