"""The metrics reducer through Kafka: events/s folded into the windowed tables by one worker.

    python -m bench metrics-kafka [--events 100000] [--output bench/results/metrics_kafka.json]

The events are published first; then one ``metrics`` worker starts, and the rate is taken from
the moment its HTTP view first counts events to the moment it has counted them all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from rich.console import Console

from bench.cluster import bench_settings, kafka_cluster
from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGES, topic_name
from pipeline.records import MetricsEvent, Outcome, encode
from pipeline.settings import DEPLOYMENT_SETTINGS
from pipeline.workers.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
console = Console()


def events(count: int) -> list[bytes]:
    """Encoded events over three days, every stage, some failures, two models."""
    start = datetime(2026, 11, 23, tzinfo=UTC)
    encoded = []
    for index in range(count):
        at = start + timedelta(seconds=index * 259_200 / count)
        stage = STAGES[index % len(STAGES)]
        failed = index % 37 == 0
        encoded.append(
            encode(
                MetricsEvent(
                    request_id=f"r{index // len(STAGES)}",
                    submitted_at=at,
                    stage=stage,
                    outcome=Outcome.FAILED if failed else Outcome.OK,
                    duration_ms=1.0 + index % 50,
                    event_time=at,
                    error_code="VALIDATION_FAILED" if failed else None,
                    model="m1" if stage == "generate" and index % 2 else None,
                    prompt_tokens=100 if stage == "generate" else 0,
                    end_to_end_ms=500.0 + index % 1000 if stage == "store" or failed else None,
                )
            )
        )
    return encoded


async def counted(port: int) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            response = await http.get(f"http://127.0.0.1:{port}/windows/?kind=weekly")
        windows = response.json()["windows"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    open_weekly = sum(w["summary"]["events"] for w in windows if w["window"]["kind"] == "weekly")
    return int(open_weekly)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="codegen-bench-metrics-"))
    async with kafka_cluster(work) as bootstrap:
        settings = bench_settings(
            bootstrap,
            work,
            "benchm",
            metrics_grace_seconds=10 * 86_400.0,  # keep every window open: all are counted
        )
        await ensure_topics(settings)
        producer = AIOKafkaProducer(
            **aiokafka_options(settings), linger_ms=20, max_batch_size=1_000_000
        )
        await producer.start()
        topic = topic_name("metrics", settings.topic_prefix)
        for value in events(args.events):
            await producer.send(topic, value)
        await producer.flush()
        await producer.stop()
        env = {
            **settings.environment(*DEPLOYMENT_SETTINGS, "metrics_grace_seconds"),
            "CODEGEN_METRICS_BATCH": os.environ.get("CODEGEN_METRICS_BATCH", "500"),
        }
        supervisor = Supervisor({"metrics": 1}, env=env)
        supervisor.start()
        try:
            first: tuple[float, int] | None = None
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                seen = await counted(settings.metrics_web_port)
                if seen:
                    now = time.perf_counter()
                    if first is None:
                        first = (now, seen)
                    if seen >= args.events:
                        break
                await asyncio.sleep(0.25)
            assert first is not None and seen is not None and seen >= args.events, seen
            elapsed = now - first[0]
            folded = seen - first[1]
        finally:
            supervisor.stop()
    return {
        "events": args.events,
        "measured_events": folded,
        "seconds": elapsed,
        "events_per_second": folded / elapsed if elapsed else None,
        "goal_events_per_second": 10_000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "metrics_kafka.json"
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    console.print(
        f"metrics reducer through Kafka: {result['events_per_second']:,.0f} events/s "
        f"({result['measured_events']} events in {result['seconds']:.2f} s; goal ≥ 10,000)"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
