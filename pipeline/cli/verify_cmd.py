"""``codegen verify FILE --tests DIR``: run tests against a filled module in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.cli.common import fail, read_source, report_and_exit
from pipeline.client.requests import TESTS_PREFIX, load_folder
from pipeline.errors import InvalidRequestError
from pipeline.models import VerificationReport
from pipeline.settings import get_settings
from pipeline.stages.verify import VerifyError, VerifyTask, verify_module

_out = Console(soft_wrap=True)


def _print_report(report: VerificationReport, file: Path) -> None:
    sandbox = "in the sandbox" if report.sandboxed else "[red]WITHOUT a sandbox[/]"
    _out.print(
        f"{escape(str(file))}: {report.tests_passed} passed, {report.tests_failed} failed, "
        f"{report.tests_skipped} skipped of {report.tests_collected} collected, "
        f"{report.seconds:.2f} s {sandbox}"
    )
    if report.findings:
        table = Table("code", "function", "line", "message")
        for finding in report.findings:
            table.add_row(
                f"[red]{finding.code}[/]",
                finding.qualified_name or "",
                str(finding.line or ""),
                escape(finding.message),
            )
        _out.print(table)


def verify_command(
    file: Annotated[Path, typer.Argument(help="The filled module to test.", show_default=False)],
    tests: Annotated[
        Path | None,
        typer.Option(
            "--tests",
            help="A folder of test files, laid out as tests/ beside the module; without it the "
            "module is only imported.",
        ),
    ] = None,
    support: Annotated[
        Path | None,
        typer.Option("--support", help="A folder of other modules the code or tests import."),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", help="The test command (default CODEGEN_VERIFY_TEST_COMMAND)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run the tests against FILE in the sandbox, as the verify stage does.

    Exit status: 0 when every test passed, 1 when some failed, 2 on a usage error or when no
    sandbox can be started.
    """
    source = read_source(file)
    settings = get_settings()
    try:
        test_files = load_folder(tests, TESTS_PREFIX) if tests else {}
        support_files = load_folder(support) if support else {}
        report = verify_module(
            VerifyTask(
                source=source,
                module_path=file.name,
                tests=test_files,
                support_files=support_files,
                test_command=command or settings.verify_test_command,
            ),
            settings.sandbox_options(),
        )
    except (VerifyError, InvalidRequestError) as error:
        fail(str(error))
    report_and_exit(report, json_output=json_output, show=lambda: _print_report(report, file))
