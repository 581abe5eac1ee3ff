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
from pipeline.client import ClusterUnavailableError, PipelineClient, Result, build_request
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
    settings: Settings, requests: list[GenerationRequest], *, wait: bool, timeout: float
) -> list[Result]:
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
            transient=len(requests) == 1,
        ) as progress:
            submitting = progress.add_task("submitting", total=len(requests))
            for request in requests:
                await client.submit(request)
                progress.advance(submitting)
            if wait:
                finishing = progress.add_task("waiting for results", total=len(requests))
                async for result in client.results(
                    [r.request_id for r in requests], timeout=timeout
                ):
                    results.append(result)
                    progress.advance(finishing)
    return results


def results_table(requests: list[GenerationRequest], results: list[Result]) -> Table:
    by_id = {r.request_id: r for r in results}
    table = Table("request", "module", "outcome", "where / why")
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
        table.add_row(request.request_id[:8], request.output_path, outcome, detail)
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
        results = asyncio.run(submit_all(settings, requests, wait=wait, timeout=timeout))
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
    console.print(results_table(requests, results))
    write_received(results, output_dir, settings)
    if any(not isinstance(r, FileStored) for r in results):
        raise typer.Exit(1)
