"""``codegen worker``, ``codegen up`` and ``codegen demo``."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from types import FrameType

import typer
from rich.syntax import Syntax

from pipeline.broker.admin import ensure_topics
from pipeline.catalogue import WORKERS, worker_names
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
    if name not in worker_names():
        fail(f"unknown worker {name!r}; workers: {', '.join(worker_names())}")
    from pipeline.workers.main import run_worker

    settings = get_settings()
    wait_for_broker(settings)
    run_worker(name, settings, loglevel=loglevel)


def up_command(
    scale: list[str] = typer.Option([], "--scale", help="STAGE=COUNT, e.g. generate=4."),
) -> None:
    """Start the local broker (when none is configured) and every stage worker, restarting
    those that die; Ctrl-C or SIGTERM stops them all."""
    settings = get_settings()
    try:
        counts = parse_counts(scale)
    except ValueError as exc:
        fail(str(exc))
    ensure_broker(settings, start=True)
    asyncio.run(ensure_topics(settings))
    supervisor = Supervisor(counts)
    stopped = catch_stop_signals()
    supervisor.start()
    console.print(
        "workers: "
        + ", ".join(f"{s} x{n}" for s, n in counts.items() if n)
        + f" on {settings.effective_bootstrap}; a worker that dies is restarted; "
        "Ctrl-C or SIGTERM stops them"
    )
    try:
        while not stopped:
            for note in supervisor.supervise():
                console.print(f"[yellow]{note}[/]")
            time.sleep(1)
    except KeyboardInterrupt:
        stopped.append("SIGINT")
    finally:
        # From here on, another Ctrl-C or SIGTERM cannot cut the stop short.
        for sig in (signal.SIGINT, *STOP_SIGNALS):
            signal.signal(sig, signal.SIG_IGN)
        console.print(f"{stopped[0] if stopped else 'exiting'}: stopping the workers …")
        supervisor.stop(timeout=settings.stop_deadline + 5)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def catch_stop_signals() -> list[str]:
    """SIGTERM and SIGHUP end ``codegen up`` as Ctrl-C does: the returned list gets the
    signal's name, which the supervising loop checks every second."""
    stopped: list[str] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.append(signal.Signals(signum).name)

    for sig in STOP_SIGNALS:
        signal.signal(sig, on_signal)
    return stopped


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
