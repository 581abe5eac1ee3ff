"""End to end: the same workload in-process and through Kafka, one worker process per stage.

    python -m bench.bench_e2e [--requests 400] [--light 60] [--output bench/results/e2e.json]

(a) in-process: the processors called one after another, one request at a time;
(b) through Kafka: every stage a worker process, requests published at once (throughput);
(c) light load: one request at a time, each through Kafka right after its twin in-process;
    the difference of their medians over the topics of the chain is what a topic hop adds.
    Each hop is also timed on its own: from the end of one stage's work to the start of the
    next one's, both taken from the stages' metrics events (the client's own clock at the
    two ends of the chain).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table

from bench.cluster import bench_settings, kafka_cluster
from bench.report import write_results
from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGE_INPUTS, STAGE_OUTPUTS, STAGES, topic_name
from pipeline.client import PipelineClient, build_request
from pipeline.processors import Routed, build_processors
from pipeline.records import FileStored, GenerationRequest, MetricsEvent, Outcome, decode
from pipeline.settings import DEPLOYMENT_SETTINGS, Settings
from pipeline.workers.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# The topics between the client and the result: each stage's input, then the last output.
HOP_TOPICS = (*(STAGE_INPUTS[stage] for stage in STAGES), STAGE_OUTPUTS[STAGES[-1]])
TOPIC_HOPS = len(HOP_TOPICS)

console = Console()


def workload(count: int, tag: str) -> list[GenerationRequest]:
    """Requests of the examples whose first attempt passes (no repair: one trip each)."""
    modules = [
        path for path in sorted(EXAMPLES.glob("*.py")) if not build_request(path).later_bodies
    ]
    return [
        build_request(
            modules[i % len(modules)], output_path=f"{tag}/{i:05d}/{modules[i % len(modules)].name}"
        )
        for i in range(count)
    ]


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": pick(0.5),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "mean": statistics.fmean(values),
    }


async def one_in_process(processors: dict[str, Any], request: GenerationRequest) -> float:
    """Milliseconds to carry one request through the five processors."""
    begin = time.perf_counter()
    record: Any = request
    for stage in STAGES:
        record = await processors[stage].process(record)
        assert not isinstance(record, Routed), "the workload must pass validation"
    return (time.perf_counter() - begin) * 1000


async def in_process(settings: Settings, requests: list[GenerationRequest]) -> dict[str, Any]:
    processors = build_processors(settings)
    started = time.perf_counter()
    latencies = [await one_in_process(processors, request) for request in requests]
    elapsed = time.perf_counter() - started
    return {
        "requests": len(requests),
        "seconds": elapsed,
        "throughput_rps": len(requests) / elapsed,
        "latency_ms": percentiles(latencies),
    }


async def burst_through_kafka(
    client: PipelineClient, burst: list[GenerationRequest]
) -> dict[str, Any]:
    """Every request published at once: throughput and latency under load."""
    submitted: dict[str, float] = {}
    latencies = []
    started = time.perf_counter()

    async def submit_all() -> None:
        for request in burst:
            submitted[request.request_id] = time.perf_counter()
            await client.submit(request)

    submitting = asyncio.create_task(submit_all())
    async for result in client.results([r.request_id for r in burst], timeout=600):
        assert isinstance(result, FileStored), result
        latencies.append((time.perf_counter() - submitted[result.request_id]) * 1000)
    await submitting
    elapsed = time.perf_counter() - started
    return {
        "requests": len(burst),
        "seconds": elapsed,
        "throughput_rps": len(burst) / elapsed,
        "latency_ms": percentiles(latencies),
    }


async def light_load(
    client: PipelineClient,
    processors: dict[str, Any],
    pairs: list[tuple[GenerationRequest, GenerationRequest]],
) -> dict[str, Any]:
    """One request at a time, each through Kafka right after its twin in-process.

    Pairing puts both runs under the same conditions on a shared machine, so their
    difference is what the topic hops add, not what the neighbours did meanwhile.
    """
    kafka, local = [], []
    ends: dict[str, tuple[float, float]] = {}  # request id → (submitted, result received)
    for inproc_request, kafka_request in pairs:
        local.append(await one_in_process(processors, inproc_request))
        begin, submitted = time.perf_counter(), time.time()
        result = await client.submit_and_wait(kafka_request, timeout=60)
        kafka.append((time.perf_counter() - begin) * 1000)
        ends[kafka_request.request_id] = (submitted, time.time())
        assert isinstance(result, FileStored), result
    spans = await stage_spans(client.settings, set(ends))
    hops = [
        hop_times(ends[request_id], spans[request_id])
        for request_id in ends
        if len(spans.get(request_id, {})) == len(STAGES)
    ]
    return {
        "requests": len(pairs),
        "kafka_latency_ms": percentiles(kafka),
        "in_process_latency_ms": percentiles(local),
        "hop_ms": {
            topic: percentiles([times[index] for times in hops])
            for index, topic in enumerate(HOP_TOPICS)
        },
        "mean_hop_ms": percentiles([statistics.fmean(times) for times in hops]),
    }


async def stage_spans(
    settings: Settings, request_ids: set[str], timeout: float = 60.0
) -> dict[str, dict[str, tuple[float, float]]]:
    """(start, end), in seconds since the epoch, of each stage's work on each request."""
    consumer = AIOKafkaConsumer(
        topic_name("metrics", settings.topic_prefix),
        **aiokafka_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    spans: dict[str, dict[str, tuple[float, float]]] = {}
    wanted = len(request_ids) * len(STAGES)
    deadline = time.monotonic() + timeout
    await consumer.start()
    try:
        while sum(map(len, spans.values())) < wanted and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                for message in messages:
                    event = decode(MetricsEvent, message.value)
                    if event.request_id in request_ids and event.outcome is Outcome.OK:
                        end = event.event_time.timestamp()
                        start = end - event.duration_ms / 1000
                        spans.setdefault(event.request_id, {})[event.stage] = (start, end)
    finally:
        await consumer.stop()
    return spans


def hop_times(ends: tuple[float, float], spans: dict[str, tuple[float, float]]) -> list[float]:
    """Milliseconds spent on each topic of the chain: from the end of the work before it
    (the client's submit for the first) to the start of the work after it (the client's
    receipt of the result for the last)."""
    submitted, received = ends
    starts = [spans[stage][0] for stage in STAGES] + [received]
    finishes = [submitted] + [spans[stage][1] for stage in STAGES]
    return [(start - finish) * 1000 for start, finish in zip(starts, finishes, strict=True)]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="codegen-bench-"))
    async with kafka_cluster(work) as bootstrap:
        settings = bench_settings(bootstrap, work, "bench")
        local_settings = settings.model_copy(update={"store_root": work / "inproc"})
        local = await in_process(local_settings, workload(args.requests, "inproc"))
        await ensure_topics(settings)
        supervisor = Supervisor(env=settings.environment(*DEPLOYMENT_SETTINGS))
        supervisor.start()
        try:
            async with PipelineClient(settings) as client:
                # Warm-up: every worker has joined its group and handled a record.
                for request in workload(3, "warmup"):
                    result = await client.submit_and_wait(request, timeout=180)
                    assert isinstance(result, FileStored), result
                kafka = await burst_through_kafka(client, workload(args.requests, "kafka"))
                # Light load after the burst, which has warmed the broker's JIT as in a
                # service that has been up for a while (a cold broker adds about 1 ms a hop).
                twins = zip(
                    workload(args.light, "light-inproc"), workload(args.light, "light"), strict=True
                )
                light = await light_load(client, build_processors(local_settings), list(twins))
        finally:
            supervisor.stop()
    hop_ms = (light["kafka_latency_ms"]["p50"] - light["in_process_latency_ms"]["p50"]) / TOPIC_HOPS
    return {
        "in_process": local,
        "kafka": kafka,
        "light_load": light,
        "throughput_ratio": kafka["throughput_rps"] / local["throughput_rps"],
        "per_hop_ms_p50": hop_ms,
        "per_hop_direct_ms_p50": light["mean_hop_ms"]["p50"],
        "topic_hops": TOPIC_HOPS,
        "goals": {"throughput_ratio": 0.7, "per_hop_ms_p50": 5.0},
    }


def report(result: dict[str, Any]) -> str:
    light = result["light_load"]
    rows: list[tuple[str, str, str, dict[str, float]]] = [
        (
            "in-process, burst",
            str(result["in_process"]["requests"]),
            f"{result['in_process']['throughput_rps']:.1f}",
            result["in_process"]["latency_ms"],
        ),
        (
            "Kafka (1 worker per stage), burst",
            str(result["kafka"]["requests"]),
            f"{result['kafka']['throughput_rps']:.1f}",
            result["kafka"]["latency_ms"],
        ),
        ("in-process, one at a time", str(light["requests"]), "-", light["in_process_latency_ms"]),
        ("Kafka, one at a time", str(light["requests"]), "-", light["kafka_latency_ms"]),
    ]
    table = Table(
        "run", "requests", "throughput (req/s)", "p50 ms", "p95 ms", "p99 ms", title="end to end"
    )
    lines = [
        "| run | requests | throughput (req/s) | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, count, rps, lat in rows:
        cells = [name, count, rps, f"{lat['p50']:.1f}", f"{lat['p95']:.1f}", f"{lat['p99']:.1f}"]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    hops = Table("topic", "p50 ms", "p95 ms", "p99 ms", title="one topic hop, timed directly")
    hop_lines = ["| topic | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|"]
    for topic, lat in light["hop_ms"].items():
        cells = [topic, f"{lat['p50']:.2f}", f"{lat['p95']:.2f}", f"{lat['p99']:.2f}"]
        hops.add_row(*cells)
        hop_lines.append("| " + " | ".join(cells) + " |")
    console.print(hops)
    summary = (
        f"throughput ratio Kafka / in-process: {result['throughput_ratio']:.2f} (goal ≥ 0.70); "
        f"added latency per topic hop at p50: {result['per_hop_ms_p50']:.1f} ms "
        f"(one-at-a-time Kafka minus in-process, over {TOPIC_HOPS} topics; goal ≤ 5 ms); "
        f"a hop timed directly: {result['per_hop_direct_ms_p50']:.2f} ms"
    )
    console.print(summary)
    return "\n".join([*lines, "", *hop_lines, "", summary])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--light", type=int, default=60)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "e2e.json")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    write_results(result, args.output, report(result) + "\n", show=None)
    console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
