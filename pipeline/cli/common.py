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

from pipeline.broker.local import BrokerError, LocalBroker
from pipeline.broker.probe import broker_answers
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


def local_broker(settings: Settings) -> LocalBroker:
    return LocalBroker(
        settings.broker_dir,
        port=settings.broker_port,
        controller_port=settings.controller_port,
        heap=settings.broker_heap,
    )


def wait_for_broker(settings: Settings) -> None:
    """Workers wait for the cluster (it may be restarting) up to CODEGEN_BROKER_WAIT_SECONDS."""
    deadline = time.monotonic() + settings.broker_wait_seconds
    while not broker_answers(settings.effective_bootstrap, timeout=5):
        if time.monotonic() > deadline:
            fail(
                f"no Kafka broker answered at {settings.effective_bootstrap} within "
                f"{settings.broker_wait_seconds:.0f} s; start one with `codegen broker start` "
                "or point KAFKA_BOOTSTRAP_SERVERS at a cluster"
            )
        time.sleep(1)


def ensure_broker(settings: Settings, *, start: bool) -> bool:
    """Make sure a broker answers; start the local one if allowed. True if started here."""
    if not settings.uses_local_broker:
        if not broker_answers(settings.effective_bootstrap, timeout=10):
            fail(f"the Kafka cluster at {settings.effective_bootstrap} does not answer")
        return False
    broker = local_broker(settings)
    if broker.status().running or broker_answers(broker.bootstrap):
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
