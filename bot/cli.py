"""The command line: declarations and dispatch only. Command bodies live in bot/commands/; this
is the only place where errors become exit codes."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from bot.commands import cases, documents, intake, ledger, rules, service
from bot.errors import BotError, ConfigError, RuleFileError
from bot.service.runtime import Options

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


def _opts(ctx: typer.Context) -> Options:
    return ctx.find_root().obj


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", help="config file (default ./config.toml, else embedded)"),
    rules_dir: Optional[Path] = typer.Option(None, "--rules", help="rules directory"),
    today: Optional[str] = typer.Option(None, "--today", help="evaluate as of YYYY-MM-DD"),
) -> None:
    ctx.obj = Options(config, rules_dir, _parse_date(today, "--today") if today else None)


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} must be a date as YYYY-MM-DD, not {value!r}") from None


# --- intake ---------------------------------------------------------------

@app.command()
def run(ctx: typer.Context, once: bool = typer.Option(False, "--once", help="one pass, then exit")) -> None:
    """The daemon: fetch mail, decide, reply, send slips and reminders."""
    service.run_cmd(_opts(ctx), once)


@app.command()
def triage(ctx: typer.Context, file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Dry run on one message: the verdict, changing nothing."""
    intake.triage_cmd(_opts(ctx), file, as_json)


@app.command()
def parse(ctx: typer.Context, file: Path, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the form read from a .xlsx, .docx or .eml file."""
    intake.parse_cmd(_opts(ctx), file)


@app.command()
def forms(ctx: typer.Context, outdir: Path) -> None:
    """Write the blank registration form (.xlsx, .docx) and the slip template."""
    documents.forms_cmd(_opts(ctx), outdir)


@app.command()
def register(ctx: typer.Context, file: Path,
             channel: str = typer.Option(..., "--channel", help="phone | onsite")) -> None:
    """Enter a registration taken by phone or in person into the ledger."""
    intake.register_cmd(_opts(ctx), file, channel)


@app.command()
def reprocess(ctx: typer.Context) -> None:
    """Put quarantined mail back into the inbox to be processed again."""
    service.reprocess_cmd(_opts(ctx))


# --- rules ------------------------------------------------------------------

@rules_app.command("check")
def rules_check(ctx: typer.Context) -> None:
    """Validate every rule file: file:line: message; exit 1 if any."""
    rules.check_cmd(_opts(ctx))


@app.command()
def notice(ctx: typer.Context, session_id: str, outfile: Path) -> None:
    """Render the session notice (附件1) and warn when it is late."""
    documents.notice_cmd(_opts(ctx), session_id, outfile)


# --- after the reception ---------------------------------------------------------

@ledger_app.command("export")
def ledger_export(ctx: typer.Context, file: Path) -> None:
    ledger.export_cmd(_opts(ctx), file)


@ledger_app.command("import")
def ledger_import(ctx: typer.Context, file: Path) -> None:
    ledger.import_cmd(_opts(ctx), file)


@app.command()
def assign(ctx: typer.Context, case: str, lead: str = typer.Option(..., "--lead"),
           co: list[str] = typer.Option([], "--co"),
           long_term: bool = typer.Option(False, "--long-term"),
           note: str = typer.Option("", "--note")) -> None:
    """Record the reception's assignment; slips go out."""
    cases.assign_cmd(_opts(ctx), case, lead, co, long_term, note)


@app.command()
def resolve(ctx: typer.Context, case: str,
            on_site: bool = typer.Option(False, "--on-site"),
            explained: bool = typer.Option(False, "--explained"),
            note: str = typer.Option(..., "--note")) -> None:
    """Record a case solved at the meeting, or explained."""
    cases.resolve_cmd(_opts(ctx), case, on_site, explained, note)


@app.command()
def extend(ctx: typer.Context, case: str, to: str = typer.Option(..., "--to")) -> None:
    """Approve an extension: the result due date moves."""
    cases.extend_cmd(_opts(ctx), case, _parse_date(to, "--to"))


@app.command()
def answer(ctx: typer.Context, case: str,
           text: Optional[Path] = typer.Option(None, "--text", help="答复全文（UTF-8 文本文件）；不给则用答复草稿")) -> None:
    """审核同意办理答复并发送企业（答复草稿由承办单位的办理结果生成，或用 --text 文件）。"""
    cases.answer_cmd(_opts(ctx), case, text)


@app.command()
def remind(ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """The reminders and escalations due today; without --dry-run they are queued."""
    cases.remind_cmd(_opts(ctx), dry_run, as_json)


@cases_app.command("list")
def cases_list(ctx: typer.Context, status: Optional[str] = typer.Option(None, "--status"),
               overdue: bool = typer.Option(False, "--overdue"),
               unit: Optional[str] = typer.Option(None, "--unit"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    cases.cases_list_cmd(_opts(ctx), status, overdue, unit, as_json)


@case_app.command("show")
def case_show(ctx: typer.Context, case: str, as_json: bool = typer.Option(False, "--json")) -> None:
    cases.case_show_cmd(_opts(ctx), case, as_json)


@app.command()
def publish(ctx: typer.Context, outdir: Path) -> None:
    """The public progress export (no personal data)."""
    documents.publish_cmd(_opts(ctx), outdir)


@app.command()
def report(ctx: typer.Context, out: Path, date_from: str = typer.Option(..., "--from"),
           date_to: str = typer.Option(..., "--to")) -> None:
    """The leaders' summary report (.docx)."""
    documents.report_cmd(_opts(ctx), _parse_date(date_from, "--from"), _parse_date(date_to, "--to"), out)


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except BotError as exc:
        code = 2 if isinstance(exc, (ConfigError, RuleFileError)) else 1
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
