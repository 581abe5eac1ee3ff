"""``codegen broker start|stop|status``."""

from __future__ import annotations

import typer

from pipeline.broker.local import BrokerError
from pipeline.cli.common import console, fail, local_broker
from pipeline.settings import get_settings

broker_app = typer.Typer(help="Run a local single-node Apache Kafka broker (KRaft).")


@broker_app.command("start")
def start() -> None:
    """Start the local broker (fetching its jars once) and wait until it answers."""
    settings = get_settings()
    if not settings.uses_local_broker:
        console.print(
            f"using the configured cluster {settings.effective_bootstrap}; nothing started"
        )
        return
    broker = local_broker(settings)
    try:
        with console.status("starting Kafka (the first start fetches its jars with Maven) …"):
            status = broker.start()
    except BrokerError as exc:
        fail(str(exc))
    console.print(
        f"[green]Kafka is up[/] at {status.bootstrap} "
        f"(pid {status.pid}, data in {status.directory})"
    )


@broker_app.command("stop")
def stop() -> None:
    """Stop the local broker; its data stays for the next start."""
    if local_broker(get_settings()).stop():
        console.print("Kafka stopped")
    else:
        console.print("Kafka was not running")


@broker_app.command("status")
def status() -> None:
    """Say whether the local broker runs."""
    state = local_broker(get_settings()).status()
    if state.running:
        console.print(f"running at {state.bootstrap} (pid {state.pid}, data in {state.directory})")
    else:
        console.print(f"not running (data in {state.directory})")
        raise typer.Exit(1)
