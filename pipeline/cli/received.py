"""``codegen submit --wait -o DIR``: the results received, written on the client's machine."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer
from rich.markup import escape

from pipeline.cli.common import console, errors
from pipeline.client import Result, save_result
from pipeline.records import FileStored
from pipeline.settings import Settings
from pipeline.stages.store import StoreError


def write_received(
    results: Iterable[Result], directory: Path | None, settings: Settings, *, quiet: bool = False
) -> None:
    """Write every stored result's source below ``directory`` (nothing when it is None),
    with the store's path rules, permissions and overwrite policy; exit 1 if one is refused.
    ``quiet``: no line per file written (standard output carries JSON)."""
    if directory is None:
        return
    refused = 0
    for result in results:
        if not isinstance(result, FileStored):
            continue
        try:
            path = save_result(
                result,
                directory,
                policy=settings.overwrite_policy,
                permissions=settings.store_permissions,
            )
        except StoreError as exc:
            refused += 1
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            continue
        if not quiet:
            console.print(f"wrote {escape(str(path))}", highlight=False)
    if refused:
        raise typer.Exit(1)
