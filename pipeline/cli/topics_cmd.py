"""``codegen topics create|list|export``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from pipeline.broker.admin import ensure_topics
from pipeline.catalogue import TOPICS, export
from pipeline.cli.common import console, ensure_broker, errors, fail
from pipeline.settings import get_settings

topics_app = typer.Typer(help="The topic catalogue.")


@topics_app.command("create")
def create() -> None:
    """Create the catalogue's topics that are missing (idempotent); exit 1 when existing
    topics have fewer replicas than wanted."""
    settings = get_settings()
    ensure_broker(settings, start=False)
    report = asyncio.run(ensure_topics(settings))
    created, replication = report.created, report.replication
    console.print(
        f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else "")
    )
    min_isr = replication.min_insync or "the cluster's default"
    console.print(
        f"replication factor {replication.factor} on {replication.brokers} broker(s), "
        f"min.insync.replicas {min_isr}"
    )
    if report.under_replicated:
        table = Table("topic", "replicas", "wanted", title="existing topics with fewer replicas")
        for topic in report.under_replicated:
            table.add_row(topic.topic, str(topic.replicas), str(topic.wanted))
        errors.print(table)
        fail(
            f"{len(report.under_replicated)} existing topic(s) have fewer replicas than "
            f"{replication.factor}: losing one broker stops them. Kafka keeps a topic's "
            "replicas as created; add replicas with kafka-reassign-partitions, or delete the "
            "topics and run `codegen topics create` again (their records are lost).",
            code=1,
        )


@topics_app.command("list")
def list_topics() -> None:
    """Show the catalogue."""
    prefix = get_settings().topic_prefix
    table = Table("topic", "partitions", "key", "record", "retention (days)", "description")
    for spec in TOPICS.values():
        table.add_row(
            spec.name(prefix),
            str(spec.partitions),
            spec.key_field,
            spec.value_model.__name__,
            "compacted" if spec.compacted else f"{spec.retention_ms / 86_400_000:g}",
            spec.description,
        )
    console.print(table)


@topics_app.command("export")
def export_schemas(directory: Path = typer.Argument(Path("topics"))) -> None:
    """Write catalogue.json and the JSON Schemas of every record."""
    for path in export(directory):
        console.print(f"wrote {path}")
