"""The store's ledger in Kafka against files: what it costs a store worker.

    python -m bench.bench_store_ledger [--requests 500] [--entries 20000]
                                       [--output bench/results/store_ledger.json]

One store worker process, fed `verified` records by hand, once per ledger (`files`, `kafka`,
and `kafka` with ``--entries`` entries already on the ledger topic): the time from starting
the process to its first `stored` record (start-up, with the ledger read back), then the
throughput of a burst of ``--requests`` records.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from bench.cluster import bench_settings, kafka_cluster
from bench.report import write_results
from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import topic_name
from pipeline.records import GenerationRequest, StoreLedgerEntry
from pipeline.settings import DEPLOYMENT_SETTINGS, Settings, StoreLedger
from pipeline.workers.supervisor import Supervisor
from tests.support.records import verified

ROOT = Path(__file__).resolve().parent.parent
console = Console()


def request(tag: str, index: int) -> GenerationRequest:
    return GenerationRequest(
        request_id=f"{tag}-{index}",
        source=f"def value() -> int:\n    return {index}\n",
        output_path=f"{tag}/m{index}.py",
    )


async def produce(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def preload_ledger(settings: Settings, count: int) -> None:
    """``count`` delivered entries of other requests, as a store that has run a while leaves."""
    entries = [
        StoreLedgerEntry(
            request_id=f"old-{i}",
            requested_path=f"old/m{i}.py",
            relative_path=f"old/m{i}.py",
            sha256="0" * 64,
            bytes=40,
            request_sha256="1" * 64,
            delivered=True,
        )
        for i in range(count)
    ]
    topic = topic_name("store-ledger", settings.topic_prefix)
    await produce(
        settings, topic, [(e.request_id.encode(), e.model_dump_json().encode()) for e in entries]
    )


async def send_verified(settings: Settings, requests: list[GenerationRequest]) -> None:
    topic = topic_name("verified", settings.topic_prefix)
    await produce(settings, topic, [(r.request_id.encode(), verified(r)) for r in requests])


async def wait_stored(consumer: AIOKafkaConsumer, wanted: set[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while wanted and time.monotonic() < deadline:
        for messages in (await consumer.getmany(timeout_ms=100)).values():
            wanted.difference_update(m.key.decode() for m in messages if m.key)
    if wanted:
        raise RuntimeError(f"{len(wanted)} request(s) not stored within {timeout} s")


async def one_run(
    base: Settings, work: Path, name: str, ledger: StoreLedger, entries: int, requests: int
) -> dict[str, Any]:
    settings = base.model_copy(
        update={
            "topic_prefix": f"{base.topic_prefix}{name}.",
            "store_ledger": ledger,
            "store_root": work / name,
        }
    )
    await ensure_topics(settings)
    if entries:
        await preload_ledger(settings, entries)
    consumer = AIOKafkaConsumer(
        topic_name("stored", settings.topic_prefix),
        **aiokafka_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    supervisor = Supervisor({"store": 1}, env=settings.environment(*DEPLOYMENT_SETTINGS))
    try:
        started = time.monotonic()
        supervisor.start()
        await send_verified(settings, [request(name, -1)])
        await wait_stored(consumer, {f"{name}--1"})
        startup = time.monotonic() - started
        burst = [request(name, i) for i in range(requests)]
        began = time.monotonic()
        await send_verified(settings, burst)
        await wait_stored(consumer, {r.request_id for r in burst})
        seconds = time.monotonic() - began
    finally:
        supervisor.stop()
        await consumer.stop()
    return {
        "ledger": ledger.value,
        "entries_before": entries,
        "startup_to_first_stored_s": startup,
        "requests": requests,
        "throughput_rps": requests / seconds,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="codegen-bench-ledger-"))
    async with kafka_cluster(work) as bootstrap:
        base = bench_settings(bootstrap, work, "ledger")
        runs = [
            await one_run(base, work, "files", StoreLedger.FILES, 0, args.requests),
            await one_run(base, work, "kafka", StoreLedger.KAFKA, 0, args.requests),
            await one_run(base, work, "kafka-full", StoreLedger.KAFKA, args.entries, args.requests),
        ]
    return {"runs": runs}


def report(result: dict[str, Any]) -> str:
    table = Table("ledger", "entries before", "start to first stored (s)", "burst (req/s)")
    lines = [
        "| ledger | entries before | start to first stored (s) | burst (req/s) |",
        "|---|---|---|---|",
    ]
    for run in result["runs"]:
        cells = [
            run["ledger"],
            str(run["entries_before"]),
            f"{run['startup_to_first_stored_s']:.1f}",
            f"{run['throughput_rps']:.0f}",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "store_ledger.json"
    )
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    write_results(result, args.output, report(result) + "\n", show=None)
    console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
