"""End to end: the same workload in-process and through Kafka, one worker process per stage.

    python -m bench.bench_e2e [--requests 400] [--light 40] [--output bench/results/e2e.json]

(a) in-process: the five processors called one after another, one request at a time;
(b) through Kafka: every stage a worker process, requests published at once (throughput) and
    one at a time (latency under light load, from which the cost of a topic hop follows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cluster import bench_settings, kafka_cluster
from pipeline.broker.admin import ensure_topics
from pipeline.client import PipelineClient, build_request
from pipeline.processors import Routed, build_processors
from pipeline.records import FileStored, GenerationRequest
from pipeline.settings import DEPLOYMENT_SETTINGS, Settings
from pipeline.workers.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# requests → extract → stubs → generate → generated → validate → validated → inject →
# injected → store → stored: six topics between the client and the result.
TOPIC_HOPS = 6

console = Console()


def workload(count: int, tag: str) -> list[GenerationRequest]:
    modules = sorted(EXAMPLES.glob("*.py"))
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


async def in_process(settings: Settings, requests: list[GenerationRequest]) -> dict[str, Any]:
    processors = build_processors(settings)
    latencies = []
    started = time.perf_counter()
    for request in requests:
        begin = time.perf_counter()
        record: Any = request
        for stage in ("extract", "generate", "validate", "inject", "store"):
            record = await processors[stage].process(record)
            assert not isinstance(record, Routed), "the workload must pass validation"
        latencies.append((time.perf_counter() - begin) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "requests": len(requests),
        "seconds": elapsed,
        "throughput_rps": len(requests) / elapsed,
        "latency_ms": percentiles(latencies),
    }


async def through_kafka(
    settings: Settings, burst: list[GenerationRequest], light: list[GenerationRequest]
) -> dict[str, Any]:
    async with PipelineClient(settings) as client:
        # Warm-up: every worker has joined its group and handled a record.
        for request in workload(3, "warmup"):
            result = await client.submit_and_wait(request, timeout=180)
            assert isinstance(result, FileStored), result
        light_latencies = []
        for request in light:
            begin = time.perf_counter()
            result = await client.submit_and_wait(request, timeout=60)
            light_latencies.append((time.perf_counter() - begin) * 1000)
            assert isinstance(result, FileStored), result
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
        "light_load_latency_ms": percentiles(light_latencies),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="codegen-bench-"))
    async with kafka_cluster(work) as bootstrap:
        settings = bench_settings(bootstrap, work, "bench")
        local = await in_process(
            settings.model_copy(update={"store_root": work / "inproc"}),
            workload(args.requests, "inproc"),
        )
        await ensure_topics(settings)
        supervisor = Supervisor(env=settings.environment(*DEPLOYMENT_SETTINGS))
        supervisor.start()
        try:
            kafka = await through_kafka(
                settings, workload(args.requests, "kafka"), workload(args.light, "light")
            )
        finally:
            supervisor.stop()
    in_process_light = local["latency_ms"]["p50"]
    hop_ms = (kafka["light_load_latency_ms"]["p50"] - in_process_light) / TOPIC_HOPS
    return {
        "in_process": local,
        "kafka": kafka,
        "throughput_ratio": kafka["throughput_rps"] / local["throughput_rps"],
        "per_hop_ms_p50": hop_ms,
        "topic_hops": TOPIC_HOPS,
        "goals": {"throughput_ratio": 0.7, "per_hop_ms_p50": 5.0},
    }


def report(result: dict[str, Any]) -> str:
    table = Table(
        "run", "requests", "throughput (req/s)", "p50 ms", "p95 ms", "p99 ms", title="end to end"
    )
    rows = []
    for name, key in (("in-process", "in_process"), ("Kafka, 1 worker per stage", "kafka")):
        run = result[key]
        lat = run["latency_ms"]
        row = [
            name,
            str(run["requests"]),
            f"{run['throughput_rps']:.1f}",
            f"{lat['p50']:.1f}",
            f"{lat['p95']:.1f}",
            f"{lat['p99']:.1f}",
        ]
        table.add_row(*row)
        rows.append(row)
    light = result["kafka"]["light_load_latency_ms"]
    row = [
        "Kafka, one request at a time",
        str(len([1])),
        "-",
        f"{light['p50']:.1f}",
        f"{light['p95']:.1f}",
        f"{light['p99']:.1f}",
    ]
    table.add_row(*row)
    console.print(table)
    console.print(
        f"throughput ratio Kafka / in-process: {result['throughput_ratio']:.2f} (goal ≥ 0.70); "
        f"added latency per topic hop at p50: {result['per_hop_ms_p50']:.1f} ms (goal ≤ 5 ms)"
    )
    lines = ["| run | throughput (req/s) | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|"]
    for name, _, rps, p50, p95, p99 in rows:
        lines.append(f"| {name} | {rps} | {p50} | {p95} | {p99} |")
    lines.append(
        f"| Kafka, one request at a time | - | {light['p50']:.1f} | "
        f"{light['p95']:.1f} | {light['p99']:.1f} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--light", type=int, default=40)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "e2e.json")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    markdown = report(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(markdown + "\n")
    console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
