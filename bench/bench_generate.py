"""One generate worker against a model that answers after a fixed latency: throughput and
latency as the number of records in flight grows.

    python -m bench.bench_generate [--inflight 1,10,50,100,200] [--requests N] [--latency 0.5]
                                   [--seconds 12] [--output bench/results/generate.json]

Per level N: fresh topics, one generate worker process (``CODEGEN_GENERATE_CONCURRENCY=N``,
``CODEGEN_OPENAI_MAX_CONCURRENCY`` at least N), and the scripted OpenAI-compatible server of
the tests answering every call after ``--latency`` seconds. The bench produces
``StubsExtracted`` records of one stub each straight to the ``stubs`` topic and reads the
``generated`` topic. It keeps N records outstanding (a closed loop: a record is produced
when one arrives), so the worker always has N records to work on and the latency is the
worker's, not time spent queueing in the topic. M records per level (``--requests``, else
enough for about ``--seconds`` at the ideal rate N / latency).

Reported per level: throughput (records/s, first produce to last arrival), latency from
produce to arrival (p50/p95/p99), lost and duplicated records (must be 0 and 0), and
throughput as a share of the ideal N / latency. The goal: at least 80% up to 100 in flight.

The broker is ``KAFKA_BOOTSTRAP_SERVERS`` when set, else a local one on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.cluster import kafka_cluster
from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import TOPICS, topic_name
from pipeline.records import GenerationRequest, StubsExtracted, encode
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.workers.supervisor import spawn_worker
from tests.support.llm_server import LLMServer, fenced

ROOT = Path(__file__).resolve().parent.parent
GOAL_SHARE = 0.8
GOAL_UP_TO = 100
MIN_RECORDS = 20
MAX_RECORDS = 6000
WARMUP_TIMEOUT = 120.0

MODULE = '''\
"""Arithmetic."""


def double(number: int) -> int:
    """Twice ``number``."""
    ...
'''
BODY = "return number * 2"


@dataclass
class Level:
    inflight: int
    records: int
    seconds: float
    throughput: float
    ideal: float
    share: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    lost: int
    duplicated: int
    failed: int
    server_max_in_flight: int
    worker_cpu_ms_per_record: float | None
    """CPU time of the worker process per record: what the machine's noise does not change."""


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process (Linux), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def stub_records(count: int, prefix: str) -> list[StubsExtracted]:
    extraction = extract_stubs(MODULE, path="bench/arith.py")
    assert len(extraction.stubs) == 1
    records = []
    for index in range(count):
        request = GenerationRequest(
            request_id=f"{prefix}{index:06d}",
            source=MODULE,
            output_path=f"bench/{index:06d}/arith.py",
            generator="openai",
        )
        records.append(
            StubsExtracted(
                request_id=request.request_id,
                submitted_at=request.submitted_at,
                request=request,
                extraction=extraction,
            )
        )
    return records


def worker_env(settings: Settings, inflight: int, base_url: str) -> dict[str, str]:
    return {
        **settings.environment("bootstrap_servers", "topic_prefix", "state_dir", "store_root"),
        "CODEGEN_WORKER_LOG_LEVEL": "warning",
        "CODEGEN_GENERATE_CONCURRENCY": str(inflight),
        "CODEGEN_OPENAI_MAX_CONCURRENCY": str(max(inflight, 16)),
        "CODEGEN_OPENAI_BASE_URL": base_url,
        "CODEGEN_OPENAI_MODEL": "bench-model",
        "CODEGEN_OPENAI_TIMEOUT": "60",
    }


async def run_level(
    bootstrap: str,
    server: LLMServer,
    inflight: int,
    count: int,
    workdir: Path,
    profile: Path | None = None,
) -> Level:
    settings = Settings(
        _env_file=None,
        bootstrap_servers=bootstrap,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        state_dir=workdir / f"state-{inflight}",
        store_root=workdir / "store",
    )
    await ensure_topics(settings)
    options = aiokafka_options(settings)
    generated = topic_name("generated", settings.topic_prefix)
    failed = topic_name("failed", settings.topic_prefix)
    stubs = topic_name("stubs", settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        **options, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    producer = AIOKafkaProducer(**options, linger_ms=1, acks=1)
    await consumer.start()
    await producer.start()
    consumer.assign(
        [TopicPartition(generated, p) for p in range(TOPICS["generated"].partitions)]
        + [TopicPartition(failed, p) for p in range(TOPICS["failed"].partitions)]
    )
    env = worker_env(settings, inflight, server.base_url)
    if profile is None:
        worker = spawn_worker("generate", env)
    else:  # the worker under cProfile; the profile is written when it stops
        profile.mkdir(parents=True, exist_ok=True)
        output = str(profile / f"generate-{inflight}.prof")
        command = ["-m", "cProfile", "-o", output, "-m", "pipeline", "worker", "generate"]
        worker = subprocess.Popen(
            [sys.executable, *command],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
        )
    try:
        # Warm up: one record through, so the worker has joined its group and connected.
        (warmup,) = stub_records(1, "warmup-")
        await producer.send_and_wait(stubs, encode(warmup), key=warmup.request_id.encode())
        deadline = time.monotonic() + WARMUP_TIMEOUT
        warmed = False
        while not warmed:
            if worker.poll() is not None:
                raise RuntimeError(f"the generate worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the generate worker did not answer the warm-up record")
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                warmed = warmed or any(m.key == warmup.request_id.encode() for m in messages)
        server.reset()

        records = stub_records(count, f"n{inflight}-")
        encoded = [(r.request_id, encode(r)) for r in records]
        sent_at: dict[str, float] = {}
        latencies: list[float] = []
        arrivals: Counter[str] = Counter()
        failures: set[str] = set()
        next_index = 0

        async def send_more(allowed: int) -> None:
            nonlocal next_index
            batch = []
            while allowed > 0 and next_index < len(encoded):
                request_id, value = encoded[next_index]
                next_index += 1
                allowed -= 1
                sent_at[request_id] = time.monotonic()
                batch.append(await producer.send(stubs, value, key=request_id.encode()))
            if batch:
                await asyncio.gather(*batch)

        cpu_before = cpu_seconds(worker.pid)
        started = time.monotonic()
        await send_more(inflight)
        done = 0
        last_arrival = started
        idle_deadline = time.monotonic() + 60.0
        while done < count:
            if worker.poll() is not None:
                raise RuntimeError(f"the generate worker exited with {worker.returncode}")
            if time.monotonic() > idle_deadline:
                break  # what has not arrived by now is lost
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            fresh = 0
            for tp, messages in batches.items():
                for message in messages:
                    request_id = message.key.decode() if message.key else ""
                    if request_id not in sent_at:
                        continue
                    arrivals[request_id] += 1
                    if arrivals[request_id] > 1:
                        continue
                    if tp.topic == failed:
                        failures.add(request_id)
                    latencies.append(now - sent_at[request_id])
                    fresh += 1
            if fresh:
                done += fresh
                last_arrival = now
                idle_deadline = now + 60.0
                await send_more(fresh)
        cpu_after = cpu_seconds(worker.pid)
        cpu_ms = (
            round((cpu_after - cpu_before) * 1000 / max(done, 1), 2)
            if cpu_before is not None and cpu_after is not None
            else None
        )
        # Late duplicates: read a little longer.
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            for message in messages:
                if message.key and message.key.decode() in sent_at:
                    arrivals[message.key.decode()] += 1
        elapsed = max(last_arrival - started, 1e-9)
        throughput = done / elapsed
        ideal = inflight / server.latency
        return Level(
            inflight=inflight,
            records=count,
            seconds=round(elapsed, 2),
            throughput=round(throughput, 1),
            ideal=round(ideal, 1),
            share=round(throughput / ideal, 3),
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            p95_ms=round(percentile(latencies, 95) * 1000, 1),
            p99_ms=round(percentile(latencies, 99) * 1000, 1),
            max_ms=round(max(latencies, default=math.nan) * 1000, 1),
            lost=sum(1 for r in sent_at if arrivals[r] == 0) + (count - len(sent_at)),
            duplicated=sum(n - 1 for n in arrivals.values() if n > 1),
            failed=len(failures),
            server_max_in_flight=server.max_in_flight,
            worker_cpu_ms_per_record=cpu_ms,
        )
    finally:
        worker.terminate()
        try:
            await asyncio.to_thread(worker.wait, 30)
        except Exception:
            worker.kill()
            worker.wait()
        await producer.stop()
        await consumer.stop()


def records_for(inflight: int, latency: float, seconds: float, requested: int | None) -> int:
    if requested is not None:
        return requested
    ideal = inflight / latency
    return max(MIN_RECORDS, min(MAX_RECORDS, math.ceil(ideal * seconds)))


def table(levels: list[Level]) -> str:
    header = (
        f"{'in flight':>9} {'records':>7} {'seconds':>7} {'rec/s':>7} {'ideal':>7} "
        f"{'share':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'lost':>5} {'dup':>4} "
        f"{'cpu ms/rec':>10}"
    )
    lines = [header, "-" * len(header)]
    for lv in levels:
        lines.append(
            f"{lv.inflight:>9} {lv.records:>7} {lv.seconds:>7.1f} {lv.throughput:>7.1f} "
            f"{lv.ideal:>7.1f} {lv.share:>6.0%} {lv.p50_ms:>8.0f} {lv.p95_ms:>8.0f} "
            f"{lv.p99_ms:>8.0f} {lv.lost:>5} {lv.duplicated:>4} {_cpu(lv):>10}"
        )
    return "\n".join(lines)


def markdown(levels: list[Level], latency: float) -> str:
    lines = [
        f"| in flight | records | records/s | ideal (N / {latency:g} s) | share "
        "| p50 ms | p95 ms | p99 ms | lost | duplicated | worker CPU ms/record |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in levels:
        lines.append(
            f"| {lv.inflight} | {lv.records} | {lv.throughput:.1f} | {lv.ideal:.0f} "
            f"| {lv.share:.0%} | {lv.p50_ms:.0f} | {lv.p95_ms:.0f} | {lv.p99_ms:.0f} "
            f"| {lv.lost} | {lv.duplicated} | {_cpu(lv)} |"
        )
    return "\n".join(lines)


def _cpu(level: Level) -> str:
    value = level.worker_cpu_ms_per_record
    return "n/a" if value is None else f"{value:.2f}"


def goal_met(level: Level) -> bool:
    if level.lost or level.duplicated or level.failed:
        return False
    return level.inflight > GOAL_UP_TO or level.share >= GOAL_SHARE


async def main_async(args: argparse.Namespace) -> int:
    # aiokafka logs every retried metadata lookup of the fresh topics at ERROR: noise here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    levels_wanted = [int(x) for x in args.inflight.split(",") if x.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    server = LLMServer(latency=args.latency, default=fenced(BODY), backlog=4096)
    server.start_in_thread()
    levels: list[Level] = []
    try:
        async with kafka_cluster(workdir) as bootstrap:
            for inflight in levels_wanted:
                count = records_for(inflight, args.latency, args.seconds, args.requests)
                print(f"in flight {inflight}: {count} records ...", file=sys.stderr)
                level = await run_level(bootstrap, server, inflight, count, workdir, args.profile)
                levels.append(level)
                print(table([level]).splitlines()[-1], file=sys.stderr)
    finally:
        server.stop_in_thread()
        shutil.rmtree(workdir, ignore_errors=True)

    print(table(levels))
    print()
    print(markdown(levels, args.latency))
    met = all(goal_met(level) for level in levels)
    document: dict[str, Any] = {
        "benchmark": "generate",
        "latency_s": args.latency,
        "goal": f"throughput >= {GOAL_SHARE:.0%} of in-flight / latency up to {GOAL_UP_TO} "
        "in flight, no lost or duplicated record",
        "goal_met": met,
        "levels": [asdict(level) for level in levels],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.output}")
    print(f"goal {'met' if met else 'MISSED'}: {document['goal']}")
    return 0 if met else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inflight", default="1,10,50,100,200", help="levels, comma-separated")
    parser.add_argument("--requests", type=int, default=None, help="records per level")
    parser.add_argument("--latency", type=float, default=0.5, help="the model's latency (s)")
    parser.add_argument("--seconds", type=float, default=12.0, help="target length of a level")
    parser.add_argument("--output", type=Path, default=Path("bench/results/generate.json"))
    parser.add_argument(
        "--profile", type=Path, default=None, help="run the worker under cProfile, into DIR"
    )
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
