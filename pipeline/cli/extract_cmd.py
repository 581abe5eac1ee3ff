"""``codegen extract FILE``: list the stubs a file holds, as the extract stage sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.cli.common import fail, read_source
from pipeline.models.stubs import ExtractionResult
from pipeline.settings import get_settings
from pipeline.stages.extract import ExtractError, ExtractOptions, extract_stubs


def _print_table(result: ExtractionResult, file: Path) -> None:
    out = Console(soft_wrap=True)  # made per call, so it measures the terminal it prints to
    if not result.stubs:
        out.print(f"{escape(str(file))}: no stubs")
        return
    table = Table("qualified name", "line", "marker", "signature")
    for stub in result.stubs:
        # Text, not markup: signatures are full of brackets (``dict[str, int]``).
        table.add_row(
            Text(stub.qualified_name),
            str(stub.span.start_line),
            Text(stub.marker),
            Text(stub.signature),
        )
    out.print(table)
    out.print(f"{escape(str(file))}: {len(result.stubs)} stub(s)")


def extract_command(
    file: Annotated[Path, typer.Argument(help="The Python file to read (it is never run).")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the extraction result as JSON.")
    ] = False,
    marker: Annotated[
        list[str] | None,
        typer.Option(
            "--marker",
            help="A stub marker, repeatable: comment:TEXT, raise:NAME, ellipsis or "
            "pass-comment:TEXT. Default: the configured markers.",
        ),
    ] = None,
    include_bodiless: Annotated[
        bool,
        typer.Option(
            "--include-bodiless",
            help="Also report abstract methods, overloads, Protocol members and .pyi files.",
        ),
    ] = False,
) -> None:
    """List the stubs of a Python file: the functions the pipeline would fill.

    Exit status: 0 on success, 2 when the file cannot be read or parsed or a marker is invalid.
    """
    source = read_source(file)
    settings = get_settings()
    options = ExtractOptions(
        markers=marker or list(settings.stub_markers),
        skip_bodiless=settings.skip_bodiless and not include_bodiless,
    )
    try:
        result = extract_stubs(source, options, path=str(file))
    except ExtractError as error:
        fail(str(error))
    if json_output:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print_table(result, file)
