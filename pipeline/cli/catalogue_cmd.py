"""``codegen catalogue render [--check]``: the files derived from the stage and topic specs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli.common import console, errors, fail
from pipeline.derived import DerivedFileError, drift, render

catalogue_app = typer.Typer(help="The files derived from the stage and topic specs.")


@catalogue_app.command("render")
def render_command(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 with a diff when a derived file drifted (CI)."
        ),
    ] = False,
    root: Annotated[
        Path,
        typer.Option(help="The project's root: docker-compose.yml, README.md, topics/."),
    ] = Path("."),
) -> None:
    """Render topics/, the worker services of docker-compose.yml and the README's stage
    table from pipeline/catalogue.py."""
    try:
        if check:
            diffs = drift(root)
            for diff in diffs.values():
                errors.print(escape(diff), end="", highlight=False)
            if diffs:
                fail(
                    f"{len(diffs)} file(s) drifted from the catalogue: "
                    "run `codegen catalogue render`",
                    code=1,
                )
            console.print("every derived file matches the catalogue")
            return
        written = render(root)
    except DerivedFileError as error:
        fail(str(error))
    for path in written:
        console.print(f"wrote {escape(str(path))}")
    if not written:
        console.print("nothing to write: every derived file matches the catalogue")
