"""The command line: declarations and dispatch only. Command bodies live in bot/commands/ and are
imported when their command runs (_body); this is the only place where errors become exit codes.

Every command and option has Chinese help with an example (a test holds them to it); global options
go before the command. `--install-completion` / `--show-completion` come from Typer.
"""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path
from typing import Optional

import typer

from bot import logs
from bot.errors import BotError, ConfigError, RuleFileError
from bot.intake.early import EarlyReader
from bot.service.options import Options
from bot.version import VERSION

HELP = """reception-bot：市长服务民营企业接待日 邮件受理机器人。

全局选项写在命令之前，例如：reception-bot --config /opt/reception-bot/config.toml check"""

app = typer.Typer(add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False, help=HELP,
                  context_settings={"help_option_names": ["-h", "--help"]})
rules_app = typer.Typer(no_args_is_help=True, help="规则文件。示例：reception-bot rules check")
ledger_app = typer.Typer(no_args_is_help=True, help="企业诉求台账的导出与导入。示例：reception-bot ledger export 台账.xlsx")
cases_app = typer.Typer(no_args_is_help=True, help="诉求列表。示例：reception-bot cases list --overdue")
case_app = typer.Typer(no_args_is_help=True, help="单件诉求。示例：reception-bot case show WHJD-2026-0001")
app.add_typer(rules_app, name="rules")
app.add_typer(ledger_app, name="ledger")
app.add_typer(cases_app, name="cases")
app.add_typer(case_app, name="case")

JSON_HELP = "输出 JSON（键为英文），供脚本读取"


def _body(command: str):
    """The module of bot/commands/ that holds a command's body, imported when the command runs:
    a command loads only what it uses (`run` neither the documents nor the ledger; `--version`
    and `--help` nothing of bot/commands/ at all)."""
    return importlib.import_module(f"bot.commands.{command}")


def _opts(ctx: typer.Context) -> Options:
    return ctx.find_root().obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"reception-bot {VERSION}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(
        None, "--config", metavar="PATH",
        help="配置文件；默认为当前目录的 config.toml，没有则用内置默认配置。示例：--config /opt/reception-bot/config.toml"),
    rules_dir: Optional[Path] = typer.Option(
        None, "--rules", metavar="DIR", help="规则目录，代替配置中的 rules_dir。示例：--rules ./rules"),
    today: Optional[str] = typer.Option(
        None, "--today", metavar="YYYY-MM-DD",
        help="按这一天计算登记窗口、时限和催办（用于测试和回放）。示例：--today 2026-12-01"),
    log_level: str = typer.Option(
        "INFO", "--log-level", metavar="LEVEL", case_sensitive=False,
        help="日志级别：DEBUG、INFO、WARNING 或 ERROR。示例：--log-level DEBUG"),
    log_format: str = typer.Option(
        "text", "--log-format", metavar="FORMAT",
        help="日志格式：text（每行一条）或 json（每行一个 JSON 对象）。示例：--log-format json"),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本号后退出。示例：reception-bot --version"),
) -> None:
    if log_level.upper() not in logs.LEVELS:
        raise ConfigError(f"--log-level 应为 {'、'.join(logs.LEVELS)} 之一，而不是“{log_level}”")
    if log_format not in logs.FORMATS:
        raise ConfigError(f"--log-format 应为 text 或 json，而不是“{log_format}”")
    logs.configure(log_level.upper(), log_format)
    ctx.obj = Options(config, rules_dir, _parse_date(today, "--today") if today else None,
                      early_reader=ctx.obj)  # what main() was given


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} 应为 YYYY-MM-DD 格式的日期，而不是“{value}”") from None


# --- the operator ------------------------------------------------------------

@app.command("check")
def check_command(ctx: typer.Context) -> None:
    """检查配置、规则、模板、IMAP 与 SMTP 的连接和登录、数据库：每项一行，任一项失败则退出码为 1。

    示例：reception-bot --config /opt/reception-bot/config.toml check
    """
    _body("check").check_cmd(_opts(ctx))


@app.command("status")
def status_command(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """运行状况：守护进程、上次收信、收件箱与发件队列、隔离邮件、待确认操作、近期催办。

    示例：reception-bot status --json
    """
    _body("status").status_cmd(_opts(ctx), as_json)


@app.command("init")
def init_command(directory: Path = typer.Argument(..., metavar="DIR", help="要创建的目录。示例：/opt/reception-bot")) -> None:
    """在 DIR 中写入待修改的 config.toml（各项均带说明）和 rules/ 规则示例；不覆盖已有文件。

    示例：reception-bot init /opt/reception-bot
    """
    _body("init").init_cmd(directory)


# --- intake ---------------------------------------------------------------

@app.command()
def run(ctx: typer.Context, once: bool = typer.Option(False, "--once", help="处理完当前邮件、发出到期邮件后退出")) -> None:
    """守护进程：收信、审核、答复，按时发送交办单和催办。SIGTERM 或 Ctrl-C 时处理完手头的邮件再退出。

    示例：reception-bot run --once
    """
    opts = _opts(ctx)
    if opts.early_reader is not None:  # it reads the first mails while the command's body imports
        opts.early_reader.head_start(opts.config, opts.rules)
    _body("service").run_cmd(opts, once)


@app.command()
def triage(ctx: typer.Context, file: Path = typer.Argument(..., metavar="FILE.eml", help="一封邮件（.eml）"),
           as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """试审一封邮件：与 run 的判断完全相同，但不写数据库、不发信。

    示例：reception-bot triage 来信.eml --json
    """
    _body("intake").triage_cmd(_opts(ctx), file, as_json)


@app.command()
def parse(ctx: typer.Context, file: Path = typer.Argument(..., metavar="FILE", help="登记表（.xlsx、.docx）或邮件（.eml）"),
          as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """显示从登记表或邮件中读出的内容（JSON）。

    示例：reception-bot parse 登记表.xlsx --json
    """
    _body("intake").parse_cmd(_opts(ctx), file)


@app.command()
def forms(ctx: typer.Context, outdir: Path = typer.Argument(..., metavar="OUTDIR", help="输出目录")) -> None:
    """写出空白的《来访企业预约登记表》（.xlsx、.docx）和《企业诉求交办单》。

    示例：reception-bot forms 空白表格/
    """
    _body("documents").forms_cmd(_opts(ctx), outdir)


@app.command()
def register(ctx: typer.Context, file: Path = typer.Argument(..., metavar="FILE", help="电话或现场登记时填写的登记表"),
             channel: str = typer.Option(..., "--channel", help="登记渠道：phone（电话）或 onsite（现场）")) -> None:
    """录入电话或现场登记的诉求，与邮件预约同样审核、登记进台账。

    示例：reception-bot register 电话登记.xlsx --channel phone
    """
    _body("intake").register_cmd(_opts(ctx), file, channel)


@app.command()
def reprocess(ctx: typer.Context) -> None:
    """把隔离区的邮件放回收件箱，重新处理。

    示例：reception-bot reprocess
    """
    _body("service").reprocess_cmd(_opts(ctx))


# --- rules ------------------------------------------------------------------

@rules_app.command("check")
def rules_check(ctx: typer.Context) -> None:
    """检查全部规则文件，每个问题一行“文件:行: 说明”；有错误时退出码为 1。

    示例：reception-bot --rules ./rules rules check
    """
    _body("rules").check_cmd(_opts(ctx))


@app.command()
def notice(ctx: typer.Context, session_id: str = typer.Argument(..., metavar="SESSION_ID", help="场次 id（sessions.toml）"),
           outfile: Path = typer.Argument(..., metavar="OUTFILE.docx", help="输出的通告文件")) -> None:
    """生成场次通告（附件1）；晚于接待日前 15 个工作日发布时给出提醒。

    示例：reception-bot notice 2026-12 通告.docx
    """
    _body("documents").notice_cmd(_opts(ctx), session_id, outfile)


# --- after the reception ---------------------------------------------------------

@ledger_app.command("export")
def ledger_export(ctx: typer.Context, file: Path = typer.Argument(..., metavar="FILE.xlsx", help="输出的台账")) -> None:
    """导出企业诉求台账，供填写现场结果、承办单位等。

    示例：reception-bot ledger export 台账.xlsx
    """
    _body("ledger").export_cmd(_opts(ctx), file)


@ledger_app.command("import")
def ledger_import(ctx: typer.Context, file: Path = typer.Argument(..., metavar="FILE.xlsx", help="填写好的台账")) -> None:
    """导入填写好的台账：记录现场结果和交办，向承办单位发出交办单（重复导入不会重复发送）。

    示例：reception-bot ledger import 台账.xlsx
    """
    _body("ledger").import_cmd(_opts(ctx), file)


@app.command()
def assign(ctx: typer.Context, case: str = typer.Argument(..., metavar="CASE", help="诉求编号"),
           lead: str = typer.Option(..., "--lead", metavar="UNIT", help="承办单位 id（units.toml）"),
           co: list[str] = typer.Option([], "--co", metavar="UNIT", help="协办单位 id，可重复"),
           long_term: bool = typer.Option(False, "--long-term", help="长期整改事项（十日一报）"),
           note: str = typer.Option("", "--note", metavar="TEXT", help="领导交办意见或办理要求")) -> None:
    """记录交办（日期为 --today），向承办、协办单位发出交办单。

    示例：reception-bot assign WHJD-2026-0001 --lead fgw --co zrzyj --note "限期答复"
    """
    _body("cases").assign_cmd(_opts(ctx), case, lead, co, long_term, note)


@app.command()
def resolve(ctx: typer.Context, case: str = typer.Argument(..., metavar="CASE", help="诉求编号"),
            on_site: bool = typer.Option(False, "--on-site", help="现场已解决"),
            explained: bool = typer.Option(False, "--explained", help="一时无法解决，已做好解释说明"),
            note: str = typer.Option(..., "--note", metavar="TEXT", help="情况说明")) -> None:
    """记录现场解决或解释说明的诉求（--on-site 与 --explained 二选一）。

    示例：reception-bot resolve WHJD-2026-0002 --on-site --note "现场协调解决"
    """
    _body("cases").resolve_cmd(_opts(ctx), case, on_site, explained, note)


@app.command()
def extend(ctx: typer.Context, case: str = typer.Argument(..., metavar="CASE", help="诉求编号"),
           to: str = typer.Option(..., "--to", metavar="YYYY-MM-DD", help="新的办理结果报送时限")) -> None:
    """批准延期：办理结果时限改为 --to，并告知承办单位和企业。

    示例：reception-bot extend WHJD-2026-0001 --to 2027-02-15
    """
    _body("cases").extend_cmd(_opts(ctx), case, _parse_date(to, "--to"))


@app.command()
def answer(ctx: typer.Context, case: str = typer.Argument(..., metavar="CASE", help="诉求编号"),
           text: Optional[Path] = typer.Option(None, "--text", help="答复全文（UTF-8 文本文件）；不给则用答复草稿")) -> None:
    """审核同意办理答复并发送企业（答复草稿由承办单位的办理结果生成，或用 --text 文件）。

    示例：reception-bot answer WHJD-2026-0001 --text 答复.txt
    """
    _body("cases").answer_cmd(_opts(ctx), case, text)


@app.command()
def remind(ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run", help="只列出，不发送"),
           as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """今天到期的催办和督办；不加 --dry-run 时加入发件队列并发送。

    示例：reception-bot remind --dry-run --json
    """
    _body("cases").remind_cmd(_opts(ctx), dry_run, as_json)


@cases_app.command("list")
def cases_list(ctx: typer.Context,
               status_filter: Optional[str] = typer.Option(None, "--status", metavar="S", help="只列出此状态的诉求"),
               overdue: bool = typer.Option(False, "--overdue", help="只列出有逾期事项的诉求"),
               unit: Optional[str] = typer.Option(None, "--unit", metavar="UNIT", help="只列出交办给此单位的诉求"),
               as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """列出诉求。

    示例：reception-bot cases list --overdue --unit fgw
    """
    _body("cases").cases_list_cmd(_opts(ctx), status_filter, overdue, unit, as_json)


@case_app.command("show")
def case_show(ctx: typer.Context, case: str = typer.Argument(..., metavar="CASE", help="诉求编号"),
              as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """显示一件诉求的全部情况：交办、时限、报告和经过。

    示例：reception-bot case show WHJD-2026-0001 --json
    """
    _body("cases").case_show_cmd(_opts(ctx), case, as_json)


@app.command()
def publish(ctx: typer.Context, outdir: Path = typer.Argument(..., metavar="OUTDIR", help="输出目录")) -> None:
    """生成办理进度公开文件（progress.html、progress.xlsx），不含个人信息。

    示例：reception-bot publish 公开/
    """
    _body("documents").publish_cmd(_opts(ctx), outdir)


@app.command()
def report(ctx: typer.Context, out: Path = typer.Argument(..., metavar="OUT.docx", help="输出的报告"),
           date_from: str = typer.Option(..., "--from", metavar="YYYY-MM-DD", help="统计起始日期"),
           date_to: str = typer.Option(..., "--to", metavar="YYYY-MM-DD", help="统计截止日期")) -> None:
    """生成报送领导的办理情况报告（.docx）。

    示例：reception-bot report --from 2026-12-01 --to 2027-03-31 报告.docx
    """
    _body("documents").report_cmd(_opts(ctx), _parse_date(date_from, "--from"), _parse_date(date_to, "--to"), out)


def main(early: EarlyReader | None = None) -> None:
    """The command line; `early`: the mail reader bot.__main__ started for `run` (bot.intake.early)."""
    logs.configure()  # until the global options say otherwise
    try:
        code = app(standalone_mode=False, obj=early)  # main_options finds it in ctx.obj
        sys.exit(code if isinstance(code, int) else 0)
    except BotError as exc:
        code = 2 if isinstance(exc, (ConfigError, RuleFileError)) else 1
        typer.echo(f"错误：{_one_line(exc)}", err=True)
        sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except typer.exceptions.TyperException as exc:  # usage errors from the parser (exit 2)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `reception-bot`: the help, no error
            typer.echo(exc.format_message())
            sys.exit(0)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"错误：{message}", err=True)
        sys.exit(getattr(exc, "exit_code", 2))


def _one_line(exc: BotError) -> str:
    """A failure is one line: the first problem, and how many more `check` or `rules check` list."""
    problems = getattr(exc, "problems", None) or [str(exc)]
    more = len(problems) - 1
    if not more:
        return problems[0]
    where = "reception-bot rules check" if isinstance(exc, RuleFileError) else "reception-bot check"
    return f"{problems[0]}（另有 {more} 处问题；{where} 列出全部）"
