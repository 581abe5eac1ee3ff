"""Show the stage benchmark's results: a rich table for the terminal, a markdown table."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

_COLUMNS = (
    "Stage",
    "Median (wall / CPU)",
    "p95 (wall / CPU)",
    "Per stub, median (wall / CPU)",
    "Target",
    "Old budget",
    "Met?",
)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def _pair(stage: dict[str, Any], key: str) -> str:
    return f"{_ms(stage['wall_ms'][key])} / {_ms(stage['cpu_ms'][key])}"


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per stage, in the order of ``_COLUMNS``."""
    found: list[tuple[str, ...]] = []
    for name, stage in results["stages"].items():
        met = "yes" if stage["met"] else ("CPU only" if stage["met_cpu"] else "no")
        found.append(
            (
                name,
                _pair(stage, "median"),
                _pair(stage, "p95"),
                _pair(stage, "per_stub_median"),
                f"≤ {stage['target_ms']:g} ms",
                f"{stage['old_budget_ms']:g} ms",
                met,
            )
        )
    return found


def _caption(results: dict[str, Any]) -> str:
    config, corpus, env = results["config"], results["corpus"], results["environment"]
    return (
        f"{config['modules']} stdlib modules (median {corpus['median_lines_original']:g} lines, "
        f"{corpus['median_lines_stubbed']:g} with {config['stubs_per_module']} stubs), "
        f"{config['repetitions']} runs each; Python {env['python']}, {env['cpus']} CPUs. "
        "Per file; met = median wall time within the target."
    )


def _subprocess_notes(results: dict[str, Any]) -> list[str]:
    """What the CPU column leaves out: the checkers' own processes (ruff, ty)."""
    notes = []
    for name, stage in results["stages"].items():
        if "subprocess_cpu_ms" in stage:
            notes.append(
                f"{name}: its subprocesses (ruff, ty) add "
                f"{_ms(stage['subprocess_cpu_ms']['median'])} CPU (median), not in the CPU column."
            )
        if "ty_server_cpu_ms_mean" in stage:
            notes.append(
                f"{name}: the ty server adds {_ms(stage['ty_server_cpu_ms_mean'])} CPU "
                "per module (mean), not in the CPU column."
            )
    return notes


def styled_table(
    title: str, columns: Sequence[str], found: Iterable[Sequence[str]], caption: str
) -> Table:
    """A rich table whose last column (``yes``/``no``/other) is coloured."""
    table = Table(title=title, caption=caption)
    for number, column in enumerate(columns):
        table.add_column(column, justify="left" if number == 0 else "right")
    for row in found:
        style = {"yes": "green", "no": "red"}.get(row[-1], "yellow")
        table.add_row(*row[:-1], f"[{style}]{row[-1]}[/{style}]")
    return table


def markdown_table(columns: Sequence[str], found: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a GitHub markdown table, the first column left-aligned."""
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join([":---", *["---:"] * (len(columns) - 1)]) + "|",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in found]


def write_results(
    results: dict[str, Any], output: Path, markdown: str, show: Callable[[], None] | None
) -> None:
    """The JSON results at ``output``, the markdown beside it (``.md``); ``show`` prints."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    output.with_suffix(".md").write_text(markdown, encoding="utf-8")
    if show is not None:
        show()
        print()
        print(markdown, end="")
        print(f"\nwritten: {output} and {output.with_suffix('.md')}", file=sys.stderr)


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    table = styled_table("Stage latency per file", _COLUMNS, rows(results), _caption(results))
    (console or Console()).print(table)
    for line in _subprocess_notes(results):
        (console or Console()).print(line)


def render_markdown(results: dict[str, Any]) -> str:
    """The table in GitHub markdown, with its caption below."""
    lines = [*markdown_table(_COLUMNS, rows(results)), "", _caption(results)]
    lines += _subprocess_notes(results)
    return "\n".join(lines) + "\n"
