"""``codegen status``: where requests wait, per worker group; a table, JSON or gauges."""

from __future__ import annotations

import asyncio
import time

import typer
from aiokafka.errors import KafkaError
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipeline.broker.connection import SecurityConfigError
from pipeline.broker.status import PipelineStatus, collect_status
from pipeline.cli.common import console, fail
from pipeline.settings import Settings, get_settings


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def compact(partitions: list[str], prefix: str) -> str:
    """``codegen.stubs[0]``, …, ``codegen.stubs[3]`` → ``stubs[0-3]``."""
    by_topic: dict[str, list[int]] = {}
    for name in partitions:
        topic, _, index = name.removeprefix(prefix).rstrip("]").partition("[")
        by_topic.setdefault(topic, []).append(int(index))
    parts = []
    for topic, numbers in by_topic.items():
        numbers.sort()
        runs: list[list[int]] = []
        for number in numbers:
            if runs and number == runs[-1][-1] + 1:
                runs[-1].append(number)
            else:
                runs.append([number])
        spans = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
        parts.append(f"{topic}[{','.join(spans)}]")
    return " ".join(parts) or "-"


def render(status: PipelineStatus, prefix: str = "") -> Group:
    groups = Table(
        "worker", "state", "members", "lag", "in/s (1 min)", "oldest waiting",
        title=f"consumer groups on {status.bootstrap}",
    )  # fmt: skip
    members = Table("worker", "client id", "host", "pid", "partitions", title="members")
    partitions = Table(
        "worker", "partition", "committed", "end", "lag", "oldest waiting",
        title="partitions with lag",
    )  # fmt: skip
    for group in status.groups:
        groups.add_row(
            group.worker,
            group.state,
            str(len(group.members)),
            str(group.lag),
            f"{group.records_per_second:.1f}",
            _age(group.oldest_waiting_seconds),
            style="bold" if group.lag else None,
        )
        for member in group.members:
            members.add_row(
                group.worker,
                member.client_id,
                member.host,
                "-" if member.pid is None else str(member.pid),
                compact(member.partitions, prefix),
            )
        for row in group.partitions:
            if row.lag:
                partitions.add_row(
                    group.worker,
                    f"{row.topic.removeprefix(prefix)}[{row.partition}]",
                    "-" if row.committed is None else str(row.committed),
                    str(row.end),
                    str(row.lag),
                    _age(row.oldest_waiting_seconds),
                )
    summary = Text(f"total lag {status.total_lag}")
    parts: list[Table | Text] = [groups, members]
    if partitions.row_count:
        parts.append(partitions)
    parts.append(summary)
    if status.hint:
        parts.append(Text(f"hint: {status.hint}", style="yellow"))
    return Group(*parts)


def take(settings: Settings) -> PipelineStatus:
    try:
        return asyncio.run(collect_status(settings))
    except (KafkaError, SecurityConfigError, OSError) as error:
        fail(f"cannot read the consumer groups from {settings.effective_bootstrap}: {error}")


def status_command(
    json_output: bool = typer.Option(False, "--json", help="One JSON document, for scripts."),
    watch: bool = typer.Option(False, "--watch", help="Refresh in place until Ctrl-C."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between refreshes."),
    serve_prometheus: int | None = typer.Option(
        None,
        "--serve-prometheus",
        metavar="PORT",
        help="Serve the lag as Prometheus gauges on PORT, refreshed every --interval.",
    ),
) -> None:
    """Show each worker group's members, lag, input rate and oldest waiting record."""
    settings = get_settings()
    if serve_prometheus is not None:
        from pipeline.cli.lag_exporter import export_lag

        export_lag(settings, serve_prometheus, interval)
        return
    if json_output:
        typer.echo(take(settings).model_dump_json(indent=2))
        return
    if not watch:
        console.print(render(take(settings), settings.topic_prefix))
        return
    with Live(
        render(take(settings), settings.topic_prefix), console=console, auto_refresh=False
    ) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(take(settings), settings.topic_prefix), refresh=True)
        except KeyboardInterrupt:
            pass
