"""Faults: kill -9 stage workers and restart the broker while requests flow.

Every accepted request must end in exactly one terminal outcome, every stored file must be
right, and nothing may be lost. CODEGEN_CHAOS_REQUESTS sets the size (default 2000; the
README shows a larger manual run).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker, free_port
from pipeline.catalogue import STAGES, topic_name
from pipeline.client import build_request
from pipeline.records import GenerationRequest, encode
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source, settings_env
from tests.support.results import read_terminal

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

REQUESTS = int(os.environ.get("CODEGEN_CHAOS_REQUESTS", "2000"))
KILLS = int(os.environ.get("CODEGEN_CHAOS_KILLS", "6"))
RESULT_TIMEOUT = float(os.environ.get("CODEGEN_CHAOS_TIMEOUT", "600"))


async def produce_all(settings: Settings, requests: list[GenerationRequest]) -> None:
    """Publish every request, retrying through the broker restart (acks=all)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.effective_bootstrap,
        acks="all",
        linger_ms=5,
        request_timeout_ms=10_000,
        retry_backoff_ms=250,
    )
    await producer.start()
    topic = topic_name("requests", settings.topic_prefix)
    try:
        for request in requests:
            for attempt in range(60):
                try:
                    await producer.send_and_wait(
                        topic, encode(request), key=request.request_id.encode()
                    )
                    break
                except Exception:
                    if attempt == 59:
                        raise
                    await asyncio.sleep(0.5)
            await asyncio.sleep(0.002)
    finally:
        await producer.stop()


async def keep_workers_running(supervisor: Supervisor) -> None:
    while True:
        supervisor.respawn_exited()
        await asyncio.sleep(1)


async def reduced_successes(settings: Settings) -> int | None:
    """What the metrics reducer counts as succeeded in its open weekly windows."""
    url = f"http://127.0.0.1:{settings.metrics_web_port}/windows/"
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            response = await http.get(url)
        windows = response.json()["windows"]
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    return sum(w["summary"]["succeeded"] for w in windows if w["window"]["kind"] == "weekly")


async def test_kill_workers_and_restart_the_broker_lose_nothing(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    settings = Settings(
        bootstrap_servers=own_broker.bootstrap,
        topic_prefix="chaos.",
        store_root=tmp_path / "store",
        state_dir=tmp_path / "state",
        metrics_dir=tmp_path / "metrics",
        metrics_web_port=free_port(),
    )
    await ensure_topics(settings)
    modules = sorted(EXAMPLES.glob("*.py"))
    requests = [
        build_request(
            modules[i % len(modules)], output_path=f"chaos/{i:05d}/{modules[i % len(modules)].name}"
        )
        for i in range(REQUESTS)
    ]
    expected_content = {m.name: expected_source(build_request(m)) for m in modules}
    env = settings_env(settings)
    supervisor = Supervisor(env=env)
    supervisor.start()
    rng = random.Random(20261124)
    kills: Counter[str] = Counter()
    broker_restarts = 0
    started = time.monotonic()
    try:
        producing = asyncio.create_task(produce_all(settings, requests))
        for round_ in range(KILLS):
            await asyncio.sleep(rng.uniform(3.0, 6.0))
            supervisor.respawn_exited()
            victim = rng.choice([w for w in supervisor.workers if w.stage in STAGES])
            supervisor.replace(victim)
            kills[victim.stage] += 1
            if round_ == KILLS // 2:
                own_broker.stop()
                await asyncio.sleep(2)
                await asyncio.to_thread(own_broker.start, timeout=180)
                broker_restarts += 1
        while not producing.done():
            supervisor.respawn_exited()
            await asyncio.sleep(1)
        await producing
        respawner = asyncio.create_task(keep_workers_running(supervisor))
        seen = await read_terminal(
            settings, {r.request_id for r in requests}, timeout=RESULT_TIMEOUT
        )
        true_successes = sum(1 for (_, outcome) in seen if outcome == "stored")
        reduced = None
        for _ in range(60):  # the reducer trails the pipeline a little
            reduced = await reduced_successes(settings)
            if reduced is not None and reduced >= true_successes:
                break
            await asyncio.sleep(1)
        respawner.cancel()
    finally:
        supervisor.stop()

    outcomes: dict[str, set[str]] = {}
    for (request_id, outcome), _ in seen.items():
        outcomes.setdefault(request_id, set()).add(outcome)
    duplicates = sum(count - 1 for count in seen.values())
    missing = [r.request_id for r in requests if r.request_id not in outcomes]
    conflicting = {rid: o for rid, o in outcomes.items() if len(o) > 1}
    wrong_files = []
    for request in requests:
        path = settings.store_root / request.output_path
        module = Path(request.output_path).name
        if not path.exists() or path.read_text(encoding="utf-8") != expected_content[module]:
            wrong_files.append(request.output_path)
    print(
        f"\nchaos: {REQUESTS} requests in {time.monotonic() - started:.0f} s; "
        f"kills {dict(kills)}, broker restarts {broker_restarts}; "
        f"terminal {len(outcomes)}, stored {true_successes}, missing {len(missing)}, "
        f"conflicting {len(conflicting)}, duplicate terminal records {duplicates}, "
        f"files checked {REQUESTS - len(wrong_files)}/{REQUESTS}; "
        f"metrics reducer counts {reduced} successes for {true_successes} "
        f"(off by {None if reduced is None else reduced - true_successes})"
    )
    assert not missing, f"{len(missing)} requests lost, e.g. {missing[:3]}"
    assert not conflicting, f"requests with two outcomes: {list(conflicting.items())[:3]}"
    assert all(outcome == {"stored"} for outcome in outcomes.values()), Counter(
        o for s in outcomes.values() for o in s
    )
    assert not wrong_files, f"{len(wrong_files)} files wrong, e.g. {wrong_files[:3]}"
