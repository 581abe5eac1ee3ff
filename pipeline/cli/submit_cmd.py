"""``codegen submit``: publish requests, optionally wait for their outcome."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.broker.probe import probe
from pipeline.cli.common import console, ensure_broker, fail
from pipeline.cli.received import write_received
from pipeline.cli.submit_progress import durations_text, outcome_line, show_where
from pipeline.client import ClusterUnavailableError, PipelineClient, Result, build_request
from pipeline.client.progress import ProgressWatcher, RequestProgress
from pipeline.client.requests import is_test_file
from pipeline.errors import InvalidRequestError
from pipeline.records import FileStored, GenerationRequest
from pipeline.settings import Settings, get_settings


def collect_requests(
    target: Path, bodies: Path | None, output: str | None, strict: bool
) -> list[GenerationRequest]:
    if target.is_dir():
        if bodies is not None or output is not None:
            fail("--bodies and --output apply to a single file, not a directory")
        files = sorted(p for p in target.rglob("*.py") if p.is_file() and not is_test_file(p))
        if not files:
            fail(f"{target} holds no .py files")
        return [
            build_request(path, output_path=path.relative_to(target).as_posix(), strict=strict)
            for path in files
        ]
    if not target.is_file():
        fail(f"{target} is neither a file nor a directory")
    return [build_request(target, bodies=bodies, output_path=output, strict=strict)]


async def submit_all(
    settings: Settings,
    requests: list[GenerationRequest],
    *,
    wait: bool,
    timeout: float,
    watcher: ProgressWatcher | None = None,
) -> list[Result]:
    """With a ``watcher`` (started), each request's line shows where it is while waiting."""
    results: list[Result] = []
    # aiokafka logs transient metadata errors (new partitions without a leader yet) at ERROR;
    # the client retries them, and a person watching a progress bar needs none of it.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    async with PipelineClient(settings) as client:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=len(requests) == 1 or watcher is not None,
            disable=console.quiet,
        ) as progress:
            submitting = progress.add_task("submitting", total=len(requests))
            for request in requests:
                await client.submit(request)
                progress.advance(submitting)
            if wait:
                finishing = progress.add_task("waiting for results", total=len(requests))
                done: set[str] = set()
                showing = (
                    asyncio.create_task(show_where(progress, watcher, requests, done))
                    if watcher is not None
                    else None
                )
                try:
                    async for result in client.results(
                        [r.request_id for r in requests], timeout=timeout
                    ):
                        results.append(result)
                        done.add(result.request_id)
                        progress.advance(finishing)
                finally:
                    if showing is not None:
                        showing.cancel()
    return results


async def submit_watched(
    settings: Settings,
    requests: list[GenerationRequest],
    *,
    wait: bool,
    timeout: float,
    quiet: bool,
) -> tuple[list[Result], dict[str, RequestProgress]]:
    """``submit_all``; with ``wait``, also what the metrics events said of each request."""
    if not wait:
        return await submit_all(settings, requests, wait=False, timeout=timeout), {}
    watcher = ProgressWatcher(settings, [r.request_id for r in requests])
    await watcher.start()
    quiet_before, console.quiet = console.quiet, quiet
    try:
        results = await submit_all(settings, requests, wait=True, timeout=timeout, watcher=watcher)
        await watcher.settle(
            {r.request_id: "store" if isinstance(r, FileStored) else r.stage for r in results}
        )
        return results, watcher.progress
    finally:
        console.quiet = quiet_before
        await watcher.stop()


def results_table(
    requests: list[GenerationRequest],
    results: list[Result],
    progress: dict[str, RequestProgress] | None = None,
) -> Table:
    by_id = {r.request_id: r for r in results}
    table = Table("request", "module", "outcome", "where / why")
    if progress:
        table.add_column("time per stage")
    for request in requests:
        result = by_id.get(request.request_id)
        if isinstance(result, FileStored):
            outcome = "[green]stored[/]"
            artifact = result.artifact
            detail = f"{artifact.path} ({artifact.bytes} bytes, {len(result.filled)} filled)"
        elif result is not None:
            outcome = f"[red]failed[/] at {result.stage}"
            detail = f"{result.error_code}: {result.message}"
        else:
            outcome, detail = "[yellow]pending[/]", "no result yet"
        row = [request.request_id[:8], request.output_path, outcome, detail]
        if progress:
            row.append(durations_text(progress.get(request.request_id)))
        table.add_row(*row)
    return table


def submit_command(
    target: Path = typer.Argument(..., help="A .py file, or a directory of them."),
    bodies: Path | None = typer.Option(
        None, "--bodies", help="NAME.bodies.json: qualified name → code."
    ),
    output: str | None = typer.Option(None, "--output", help="Path under the store root."),
    wait: bool = typer.Option(
        False, "--wait", help="Wait for each request's stored or failed record."
    ),
    strict: bool = typer.Option(False, "--strict", help="Validation warnings count as errors."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait with --wait."),
    output_dir: Path | None = typer.Option(
        None, "-o", "--output-dir", help="With --wait: write the results received into DIR."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="With --wait: one JSON line per outcome, nothing else."
    ),
) -> None:
    """Publish generation requests to the requests topic."""
    settings = get_settings()
    if output_dir is not None and not wait:
        fail("-o DIR writes the results received: add --wait")
    try:
        requests = collect_requests(target, bodies, output, strict)
    except InvalidRequestError as exc:
        fail(exc.message)
    ensure_broker(settings, start=False)
    try:
        results, watched = asyncio.run(
            submit_watched(settings, requests, wait=wait, timeout=timeout, quiet=json_output)
        )
    except ClusterUnavailableError as exc:
        fail(str(exc))
    except TimeoutError:
        found = probe(settings, timeout=5)
        why = (
            f": {found.problem}"
            if found.problem
            else " (the cluster answers: are workers running?)"
        )
        fail(f"not every request finished within {timeout:.0f} s{why}", code=1)
    if not wait:
        for request in requests:
            console.print(f"submitted {request.output_path} as {request.request_id}")
        return
    if json_output:
        by_id = {r.request_id: r for r in results}
        for request in requests:
            if request.request_id in by_id:
                progress = watched.get(request.request_id)
                typer.echo(outcome_line(request, by_id[request.request_id], progress))
    else:
        console.print(results_table(requests, results, watched))
    write_received(results, output_dir, settings, quiet=json_output)
    if any(not isinstance(r, FileStored) for r in results):
        raise typer.Exit(1)
