"""``codegen broker start|stop|status``."""

from __future__ import annotations

import typer

from pipeline.broker.local import BrokerError
from pipeline.cli.common import console, fail, local_broker
from pipeline.settings import get_settings

broker_app = typer.Typer(help="Run a local Apache Kafka broker, or a cluster of them (KRaft).")


@broker_app.command("start")
def start(
    nodes: int | None = typer.Option(
        None,
        "--nodes",
        min=1,
        help="Combined broker+controller nodes (default CODEGEN_BROKER_NODES, or as formatted); "
        "node i listens on CODEGEN_BROKER_PORT + 2i and CODEGEN_CONTROLLER_PORT + 2i.",
    ),
) -> None:
    """Start the local broker or cluster (fetching its jars once) and wait until it answers."""
    settings = get_settings()
    if not settings.uses_local_broker:
        console.print(
            f"using the configured cluster {settings.effective_bootstrap}; nothing started"
        )
        return
    broker = local_broker(settings, nodes)
    try:
        with console.status("starting Kafka (the first start fetches its jars with Maven) …"):
            status = broker.start(timeout=90.0 * len(broker.nodes))
    except BrokerError as exc:
        fail(str(exc))
    size = "" if len(broker.nodes) == 1 else f" ({len(broker.nodes)} nodes)"
    console.print(
        f"[green]Kafka is up[/]{size} at {status.bootstrap} "
        f"(pid {', '.join(str(n.pid) for n in status.nodes)}, data in {status.directory})"
    )
    if len(broker.nodes) != settings.broker_nodes:
        console.print(
            f"set CODEGEN_BROKER_NODES={len(broker.nodes)} so that every command bootstraps "
            "from all of its nodes"
        )


@broker_app.command("stop")
def stop() -> None:
    """Stop the local broker (every node); its data stays for the next start."""
    if local_broker(get_settings()).stop():
        console.print("Kafka stopped")
    else:
        console.print("Kafka was not running")


@broker_app.command("status")
def status() -> None:
    """Say whether the local broker runs (each node of a cluster); exit 1 unless all do."""
    state = local_broker(get_settings()).status()
    if len(state.nodes) > 1:
        for node in state.nodes:
            where = f"running (pid {node.pid})" if node.running else "not running"
            console.print(f"node {node.node_id} at {node.bootstrap}: {where}")
    if state.running:
        console.print(f"running at {state.bootstrap} (data in {state.directory})")
    else:
        console.print(f"not running (data in {state.directory})")
        raise typer.Exit(1)
