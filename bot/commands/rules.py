"""`rules check`: every problem of the rule files as file:line: message."""

from __future__ import annotations

import typer

from bot.commands.output import note
from bot.rules.checks import check_rules, format_report
from bot.service.runtime import Options, rules_dir


def check_cmd(opts: Options) -> None:
    errors, warnings = check_rules(rules_dir(opts))
    report = format_report(errors, warnings)
    if report:
        typer.echo(report, err=bool(errors))
    if errors:
        raise typer.Exit(1)
    note("规则文件检查通过")
