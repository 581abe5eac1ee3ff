"""``codegen inject FILE --bodies BODIES.json [-o OUT]``: fill a module's stubs offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.settings import get_settings
from pipeline.stages.inject import InjectError, InjectOptions, inject_bodies


def inject_command(
    file: Annotated[
        Path,
        typer.Argument(help="The Python module whose functions are filled.", show_default=False),
    ],
    bodies: Annotated[
        Path,
        typer.Option(
            "--bodies",
            help="A JSON object mapping qualified names (Class.method, func, "
            "outer.<locals>.inner) to generated code: a bare body or a whole def.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Where to write the result (default: stdout)."),
    ] = None,
) -> None:
    """Put generated bodies into the functions of FILE, keeping everything else as it is.

    CODEGEN_HOIST_IMPORTS, CODEGEN_ERROR_CLASS and CODEGEN_LOG_FUNCTION apply as in the worker.
    """
    try:
        source = _read(file).decode("utf-8")
        mapping = _load_bodies(bodies)
        result = inject_bodies(source, mapping, InjectOptions.from_settings(get_settings()))
    except (InjectError, _InputError, UnicodeDecodeError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if output is None:
        typer.echo(result.source, nl=False)
    else:
        output.write_bytes(result.source.encode("utf-8"))
    for name in result.filled:
        first, last = result.body_lines[name]
        typer.echo(f"filled {name} (lines {first}-{last})", err=True)
    for statement in result.added_imports:
        typer.echo(f"added {statement}", err=True)


class _InputError(Exception):
    pass


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()  # bytes: keep CRLF line endings as they are
    except OSError as error:
        raise _InputError(f"cannot read {path}: {error.strerror}") from error


def _load_bodies(path: Path) -> dict[str, str]:
    try:
        data = json.loads(_read(path))
    except json.JSONDecodeError as error:
        raise _InputError(f"{path} is not JSON: {error}") from error
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in data.items()
    ):
        raise _InputError(f"{path} must be a JSON object mapping qualified names to code")
    return data
