"""``codegen topics create|list|export``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from pipeline.broker.admin import ensure_topics
from pipeline.catalogue import TOPICS, export
from pipeline.cli.common import console, ensure_broker
from pipeline.settings import get_settings

topics_app = typer.Typer(help="The topic catalogue.")


@topics_app.command("create")
def create() -> None:
    """Create the catalogue's topics that are missing (idempotent)."""
    settings = get_settings()
    ensure_broker(settings, start=False)
    created = asyncio.run(ensure_topics(settings))
    console.print(
        f"created {len(created)} topic(s)" + (f": {', '.join(created)}" if created else "")
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
            f"{spec.retention_ms / 86_400_000:g}",
            spec.description,
        )
    console.print(table)


@topics_app.command("export")
def export_schemas(directory: Path = typer.Argument(Path("topics"))) -> None:
    """Write catalogue.json and the JSON Schemas of every record."""
    for path in export(directory):
        console.print(f"wrote {path}")
