"""The Kafka cluster a benchmark runs on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pipeline.broker.local import LocalBroker, free_port
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def kafka_cluster(work: Path) -> AsyncIterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else a local broker on free ports, stopped at the end."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(
        "CODEGEN_BOOTSTRAP_SERVERS"
    )
    if configured:
        yield configured
        return
    broker = LocalBroker(
        work / "kafka",
        port=free_port(),
        controller_port=free_port(),
        jars_dir=ROOT / ".kafka" / "libs",
    )
    await asyncio.to_thread(broker.start, timeout=180)
    try:
        yield broker.bootstrap
    finally:
        await asyncio.to_thread(broker.stop)


def bench_settings(bootstrap: str, work: Path, tag: str, **overrides: Any) -> Settings:
    """Settings of a benchmark run: fresh topics (a timestamped prefix) and folders in ``work``."""
    fields: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "topic_prefix": f"{tag}{int(time.time())}.",
        "store_root": work / "store",
        "state_dir": work / "state",
        "metrics_dir": work / "metrics",
        "metrics_web_port": free_port(),
    }
    return Settings(**{**fields, **overrides})
