"""``codegen worker``, ``codegen up`` and ``codegen demo``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import typer
from rich.syntax import Syntax

from pipeline.broker.admin import ensure_topics
from pipeline.catalogue import WORKERS
from pipeline.cli.common import console, ensure_broker, fail, local_broker, wait_for_broker
from pipeline.cli.submit_cmd import collect_requests, results_table, submit_all
from pipeline.records import FileStored
from pipeline.settings import get_settings
from pipeline.workers.supervisor import Supervisor, parse_counts


def worker_command(
    name: str = typer.Argument(..., help=f"One of: {', '.join(WORKERS)}."),
    loglevel: str | None = typer.Option(None, "--loglevel", "-l"),
) -> None:
    """Run one worker process: a stage (start more to split its partitions), the metrics
    reducer or the intent executor."""
    if name not in WORKERS:
        fail(f"unknown worker {name!r}; workers: {', '.join(WORKERS)}")
    from pipeline.workers.app import run_worker

    settings = get_settings()
    wait_for_broker(settings)
    run_worker(name, settings, loglevel=loglevel)


def up_command(
    scale: list[str] = typer.Option([], "--scale", help="STAGE=COUNT, e.g. generate=4."),
) -> None:
    """Start the local broker (when none is configured) and every stage worker; Ctrl-C stops."""
    settings = get_settings()
    try:
        counts = parse_counts(scale)
    except ValueError as exc:
        fail(str(exc))
    ensure_broker(settings, start=True)
    asyncio.run(ensure_topics(settings))
    supervisor = Supervisor(counts)
    supervisor.start()
    console.print(
        "workers: "
        + ", ".join(f"{s} x{n}" for s, n in counts.items() if n)
        + f" on {settings.effective_bootstrap}; Ctrl-C stops them"
    )
    try:
        while True:
            for worker in supervisor.exited():
                console.print(
                    f"[red]worker {worker.name} exited with {worker.process.returncode}[/]"
                )
                supervisor.workers.remove(worker)
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping workers …")
    finally:
        supervisor.stop()


def demo_command(
    examples: Path = typer.Argument(
        Path("examples"), help="Modules with NAME.bodies.json beside them."
    ),
    timeout: float = typer.Option(180.0, "--timeout"),
    keep_broker: bool = typer.Option(
        False, "--keep-broker", help="Leave the local broker running."
    ),
) -> None:
    """Run the whole pipeline on the bundled examples and print the results."""
    settings = get_settings()
    requests = collect_requests(examples, None, None, False)
    started_broker = ensure_broker(settings, start=True)
    asyncio.run(ensure_topics(settings))
    supervisor = Supervisor()
    supervisor.start()
    names = ", ".join(dict.fromkeys(worker.stage for worker in supervisor.workers))
    console.print(f"started {len(supervisor.workers)} workers, one process each: {names}")
    try:
        results = asyncio.run(submit_all(settings, requests, wait=True, timeout=timeout))
    except TimeoutError:
        fail(f"the examples did not finish within {timeout:.0f} s", code=1)
    finally:
        supervisor.stop()
        if started_broker and not keep_broker:
            local_broker(settings).stop()
    console.print(results_table(requests, results))
    stored = [r for r in results if isinstance(r, FileStored)]
    if stored:
        first = stored[0]
        console.print(f"\n[bold]{first.artifact.path}[/] (sha256 {first.artifact.sha256[:12]}…):")
        console.print(Syntax(Path(first.artifact.path).read_text(encoding="utf-8"), "python"))
    if len(stored) != len(requests):
        raise typer.Exit(1)
