"""A broker of a 3-node cluster crashes while requests flow, stays down a minute, comes back.

Replicated topics (factor 3, min.insync.replicas 2) keep every partition writable with two
brokers: every request ends exactly once with the right file, the client never sees a produce
error, and requests keep completing while the broker is down.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.broker.local import LocalBroker, free_port
from pipeline.client import PipelineClient, build_request
from pipeline.records import GenerationRequest
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source, settings_env
from tests.support.results import read_terminal

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REQUESTS = 300
OUTAGE_SECONDS = 60.0


async def leader_counts(settings: Settings) -> Counter[int]:
    """Partitions led by each broker, over every topic of the cluster."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        leaders: Counter[int] = Counter()
        for topic in await admin.describe_topics():
            for partition in topic["partitions"]:
                if partition["leader"] >= 0:
                    leaders[partition["leader"]] += 1
        return leaders
    finally:
        await admin.close()


async def submit_paced(
    client: PipelineClient, requests: list[GenerationRequest], pause: float
) -> None:
    for request in requests:
        await client.submit(request)  # a produce error would fail the test here
        await asyncio.sleep(pause)


async def test_a_broker_crash_loses_nothing_and_stops_nothing(
    kafka_cluster: LocalBroker, tmp_path: Path
) -> None:
    settings = Settings(
        bootstrap_servers=kafka_cluster.bootstrap,
        topic_prefix="failover.",
        store_root=tmp_path / "store",
        state_dir=tmp_path / "state",
        metrics_dir=tmp_path / "metrics",
        metrics_web_port=free_port(),
        broker_timeout=60.0,
    )
    report = await ensure_topics(settings)
    assert report.replication.factor == 3, report.replication
    modules = sorted(EXAMPLES.glob("*.py"))
    requests = [
        build_request(modules[i % 2], output_path=f"failover/{i:04d}/{modules[i % 2].name}")
        for i in range(REQUESTS)
    ]
    expected = {m.name: expected_source(build_request(m)) for m in modules}
    supervisor = Supervisor(env=settings_env(settings))
    supervisor.start()
    completed_at: dict[str, float] = {}
    try:
        async with PipelineClient(settings) as client:

            async def collect() -> None:
                async for result in client.results([r.request_id for r in requests], timeout=600):
                    completed_at.setdefault(result.request_id, time.monotonic())

            collecting = asyncio.create_task(collect())
            # A third before the crash, a third while the broker is down, a third after.
            await submit_paced(client, requests[:100], 0.1)
            for _ in range(300):  # the pipeline runs before the broker goes
                if completed_at:
                    break
                await asyncio.sleep(1)
            leaders = await leader_counts(settings)
            victim = leaders.most_common(1)[0][0]
            kafka_cluster.kill(victim)
            down_from = time.monotonic()
            await submit_paced(client, requests[100:200], 0.4)
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_from)))
            down_until = time.monotonic()
            await asyncio.to_thread(kafka_cluster.start_node, victim, timeout=180)
            await submit_paced(client, requests[200:], 0.1)
            await collecting
        seen = await read_terminal(settings, {r.request_id for r in requests}, timeout=120)
    finally:
        supervisor.stop()
        await asyncio.to_thread(kafka_cluster.start)  # whole again for the module's next test

    during_outage = [t for t in completed_at.values() if down_from <= t <= down_until]
    outcomes: Counter[str] = Counter(outcome for (_, outcome) in seen)
    duplicates = {key: n for key, n in seen.items() if n > 1}
    wrong = [
        r.output_path
        for r in requests
        if not (settings.store_root / r.output_path).is_file()
        or (settings.store_root / r.output_path).read_text(encoding="utf-8")
        != expected[Path(r.output_path).name]
    ]
    print(
        f"\nfailover: broker {victim} (leading {leaders[victim]} of {sum(leaders.values())} "
        f"partitions) down {down_until - down_from:.0f} s; {len(during_outage)} requests "
        f"completed meanwhile; outcomes {dict(outcomes)}, duplicates {len(duplicates)}"
    )
    assert {request_id for request_id, _ in seen} == {r.request_id for r in requests}
    assert outcomes == {"stored": REQUESTS}, outcomes
    assert not duplicates, list(duplicates)[:3]
    assert not wrong, wrong[:3]
    assert during_outage, "nothing completed while the broker was down"
