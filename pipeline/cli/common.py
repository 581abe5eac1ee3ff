"""Helpers shared by the commands."""

from __future__ import annotations

import time
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.broker.local import BrokerError, LocalBroker, formatted_nodes
from pipeline.broker.probe import probe
from pipeline.models import ValidationReport
from pipeline.settings import Settings

EXIT_FINDINGS = 1  # like bandit and ruff: the command ran, and the code has errors

console = Console(soft_wrap=True)  # messages keep whole lines; tables still fit the width
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def report_and_exit(
    report: ValidationReport, *, json_output: bool, show: Callable[[], None]
) -> None:
    """Print a stage's report (as JSON, or with ``show``); exit 1 when it has errors."""
    if json_output:
        typer.echo(report.model_dump_json(indent=2))
    else:
        show()
    if not report.passed:
        raise typer.Exit(EXIT_FINDINGS)


def read_source(file: Path) -> str:
    """The file's text, decoded as Python decodes source (coding cookie, BOM)."""
    try:
        with tokenize.open(file) as handle:
            return handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        fail(f"cannot read {file}: {error}")


def local_broker(settings: Settings, nodes: int | None = None) -> LocalBroker:
    """The local broker or cluster of ``settings.broker_dir``: ``nodes`` nodes, else as many
    as were formatted there, else ``CODEGEN_BROKER_NODES``."""
    return LocalBroker(
        settings.broker_dir,
        port=settings.broker_port,
        controller_port=settings.controller_port,
        heap=settings.broker_heap,
        nodes=nodes or formatted_nodes(settings.broker_dir) or settings.broker_nodes,
    )


def wait_for_broker(settings: Settings) -> None:
    """Workers wait for the cluster (it may be restarting) up to CODEGEN_BROKER_WAIT_SECONDS;
    refused credentials or an untrusted certificate end the wait at once."""
    deadline = time.monotonic() + settings.broker_wait_seconds
    while not (found := probe(settings, timeout=5)).ok:
        if found.fatal:
            fail(found.problem or "the cluster refused the connection")
        if time.monotonic() > deadline:
            fail(
                f"{found.problem} (waited {settings.broker_wait_seconds:.0f} s); start one "
                "with `codegen broker start` or point KAFKA_BOOTSTRAP_SERVERS at a cluster"
            )
        time.sleep(1)


def ensure_broker(settings: Settings, *, start: bool) -> bool:
    """Make sure the cluster answers; start the local one if allowed. True if started here."""
    if not settings.uses_local_broker:
        found = probe(settings, timeout=10)
        if not found.ok:
            fail(found.problem or f"the Kafka cluster at {settings.effective_bootstrap} is empty")
        return False
    broker = local_broker(settings)
    if broker.status().running or probe(settings, timeout=2).ok:
        return False
    if not start:
        fail(
            f"no broker answers at {broker.bootstrap}; start one with `codegen broker start` "
            "or point KAFKA_BOOTSTRAP_SERVERS at a cluster"
        )
    with console.status(f"starting the local Kafka broker on {broker.bootstrap} …"):
        try:
            broker.start()
        except BrokerError as exc:
            fail(str(exc))
    console.print(f"[green]local Kafka broker ready[/] at {broker.bootstrap}")
    return True
