"""``codegen validate FILE``: static checks of a Python file (never run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.cli.common import fail, read_source, report_and_exit
from pipeline.models.findings import Severity, ValidationReport
from pipeline.settings import get_settings
from pipeline.stages.validate import (
    TypeCheckFailed,
    ValidateError,
    ValidateOptions,
    parse_rules,
    validate_source,
)

_out = Console(soft_wrap=True)


def _print_table(report: ValidationReport, file: Path) -> None:
    if not report.findings:
        _out.print(f"[green]{escape(str(file))}: no findings[/]")
        return
    table = Table("rule", "code", "severity", "line:col", "message", "suggestion")
    for finding in report.findings:
        style = "red" if finding.severity is Severity.ERROR else "yellow"
        table.add_row(
            finding.rule,
            finding.code,
            f"[{style}]{finding.severity.value}[/]",
            f"{finding.line}:{finding.column}",
            escape(finding.message),
            escape(finding.suggestion or ""),
        )
    _out.print(table)
    errors = len(report.errors)
    warnings = len(report.findings) - errors
    _out.print(f"{escape(str(file))}: {errors} error(s), {warnings} warning(s)")


def validate_command(
    file: Annotated[Path, typer.Argument(help="The Python file to check (it is never run).")],
    rules: Annotated[
        list[str],
        typer.Option(
            "--rules",
            help="Rules to run, comma-separated or repeated: syntax, type_hints, security, "
            "imports, house_rules, types or all.",
        ),
    ] = ["all"],  # noqa: B006 - typer reads the default, never mutates it
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a Python file: syntax, type hints, security (bandit), imports (ruff), house rules,
    types (ty).

    Exit status: 0 without errors, 1 when there are errors, 2 on a usage error.
    """
    try:
        selected = parse_rules(rules)
    except ValueError as error:
        fail(str(error))
    source = read_source(file)
    settings = get_settings()
    options = ValidateOptions.from_settings(settings, rules=selected, strict=strict)
    try:
        report = validate_source(source, options, filename=file.name)
    except (ValidateError, TypeCheckFailed) as error:
        fail(str(error))
    report_and_exit(report, json_output=json_output, show=lambda: _print_table(report, file))
