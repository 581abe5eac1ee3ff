"""``codegen metrics``: the open windows (from the reducer) and recent closed ones (persisted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.table import Table

from pipeline.cli.common import console
from pipeline.metrics import WindowKind
from pipeline.settings import Settings, get_settings


def open_windows(settings: Settings, kind: str) -> list[dict[str, Any]] | None:
    """The reducer's open windows of ``kind``, or None when no reducer answers."""
    url = f"http://127.0.0.1:{settings.metrics_web_port}/windows/?kind={kind}"
    try:
        response = httpx.get(url, timeout=3.0)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    rows: list[dict[str, Any]] = response.json()["windows"]
    return [{**row, "state": "open"} for row in rows]


def closed_windows(settings: Settings, kind: str, limit: int) -> list[dict[str, Any]]:
    """The most recent persisted snapshots of ``kind``, newest first."""
    files = sorted((settings.metrics_dir / kind).glob("*.json"), reverse=True)[:limit]
    rows = []
    for path in files:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        rows.append(
            {"window": document["window"], "summary": document["summary"], "state": "closed"}
        )
    return rows


def metrics_command(
    window: WindowKind = typer.Option(
        WindowKind.HOURLY, "--window", help="hourly, daily or weekly."
    ),
    recent: int = typer.Option(10, "--recent", help="How many closed windows to show."),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Show the current and recent metrics windows."""
    settings = get_settings()
    live = open_windows(settings, window.value)
    rows = [r for r in (live or []) if r["window"]["kind"] == window.value]
    rows += closed_windows(settings, window.value, recent)
    if json_output:
        console.print_json(json.dumps({"reducer_reachable": live is not None, "windows": rows}))
        return
    if live is None:
        console.print(
            f"[yellow]no metrics reducer answers on port {settings.metrics_web_port}; "
            "showing persisted windows only[/]"
        )
    table = Table(
        "window start",
        "state",
        "started",
        "ok",
        "failed",
        "success",
        "e2e p50 ms",
        "e2e p95 ms",
        "e2e p99 ms",
        "repairs",
        "tokens",
        "cost $",
        title=f"{window.value} windows",
    )
    for row in rows:
        summary = row["summary"]
        e2e = summary["end_to_end_ms"]
        rate = summary["success_rate"]
        tokens = summary["tokens"]
        table.add_row(
            row["window"]["start"],
            row["state"],
            str(summary["requests_started"]),
            str(summary["succeeded"]),
            str(summary["failed"]),
            "-" if rate is None else f"{rate:.1%}",
            _ms(e2e["p50"]),
            _ms(e2e["p95"]),
            _ms(e2e["p99"]),
            str(summary["repair_attempts"]),
            str(tokens["prompt"] + tokens["completion"]),
            f"{summary['cost_usd']:.4f}",
        )
    console.print(table)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
