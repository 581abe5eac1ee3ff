"""SIGTERM drains a worker: what is in flight finishes, is produced and committed; what does
not finish within CODEGEN_DRAIN_SECONDS is handed back (uncommitted, redelivered), and a
worker stops within its bound even when the broker has gone away."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker
from pipeline.catalogue import topic_name
from pipeline.processors.extract import ExtractProcessor
from pipeline.records import CodeGenerated, GenerationRequest, decode, encode
from pipeline.settings import Settings
from pipeline.workers.main import EXIT_STOP_TIMEOUT
from pipeline.workers.supervisor import Supervisor
from tests.support.llm_server import LLMServer, fenced

pytestmark = pytest.mark.integration

IN_FLIGHT = 10
MODULE = 'def answer() -> int:\n    """The answer."""\n    ...\n'


async def generated_records(settings: Settings, quiet_seconds: float = 3.0) -> list[CodeGenerated]:
    consumer = AIOKafkaConsumer(
        topic_name("generated", settings.topic_prefix),
        bootstrap_servers=settings.effective_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[CodeGenerated] = []
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=int(quiet_seconds * 1000))
            if not batches:
                return records
            records += [decode(CodeGenerated, m.value) for ms in batches.values() for m in ms]
    finally:
        await consumer.stop()


async def send_stubs(settings: Settings, count: int) -> None:
    extract = ExtractProcessor(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.effective_bootstrap)
    await producer.start()
    try:
        for index in range(count):
            request = GenerationRequest(
                request_id=f"drain-{index}", source=MODULE, output_path="a.py", generator="openai"
            )
            stubs = await extract.process(request)
            await producer.send_and_wait(
                topic_name("stubs", settings.topic_prefix),
                encode(stubs),
                key=stubs.request_id.encode(),
            )
    finally:
        await producer.stop()


async def until_in_flight(server: LLMServer, count: int) -> None:
    for _ in range(600):
        if server.in_flight == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {server.in_flight} calls in flight")


async def sigterm(supervisor: Supervisor) -> tuple[int, float]:
    """SIGTERM to the only worker: its exit status and how long it took to exit."""
    worker = supervisor.workers[0]
    started = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(worker.process.wait, 120)
    return code, time.monotonic() - started


async def test_sigterm_finishes_and_commits_what_is_in_flight(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    llm_server: Any,
) -> None:
    server = await llm_server(latency=4.0, default=fenced("return 42"))
    settings = settings_factory(
        openai_base_url=server.base_url,
        generate_concurrency=IN_FLIGHT,
        openai_max_concurrency=IN_FLIGHT,
    )
    await ensure_topics(settings)
    supervisor = workers_factory(settings, {"generate": 1})
    await send_stubs(settings, IN_FLIGHT)
    await until_in_flight(server, IN_FLIGHT)
    worker = supervisor.workers[0]
    worker.process.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(worker.process.wait, 60)
    assert exit_code == 0

    drained = await generated_records(settings)
    assert sorted(r.request_id for r in drained) == sorted(f"drain-{i}" for i in range(IN_FLIGHT))

    # A new worker gets nothing again: the drained offsets were committed.
    supervisor.respawn_exited()
    await asyncio.sleep(15)
    assert len(server.completion_requests) == IN_FLIGHT
    assert len(await generated_records(settings)) == IN_FLIGHT


DRAIN_SECONDS = 2.0
STOP_BOUND = DRAIN_SECONDS + 5 + 3  # drain, margin (SHUTDOWN_MARGIN_SECONDS), slack
SLOW = 45.0  # an LLM call longer than the drain


async def test_what_does_not_finish_in_the_drain_bound_is_handed_back(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    llm_server: Any,
) -> None:
    server = await llm_server(latency=SLOW, default=fenced("return 42"))
    settings = settings_factory(openai_base_url=server.base_url, generate_concurrency=5)
    await ensure_topics(settings)
    drain = {"CODEGEN_DRAIN_SECONDS": str(DRAIN_SECONDS)}
    supervisor = workers_factory(settings, {"generate": 1}, env=drain)
    await send_stubs(settings, 5)
    await until_in_flight(server, 5)

    code, took = await sigterm(supervisor)
    assert code == 0, "stopped cleanly, committing only what was done"
    assert took < STOP_BOUND, f"{took:.1f} s to stop"
    assert await generated_records(settings, quiet_seconds=1.0) == []

    # Uncommitted: a new worker gets the five again, and the model now answers at once.
    server.latency = 0.0
    supervisor.respawn_exited()
    for _ in range(300):
        redone = await generated_records(settings, quiet_seconds=1.0)
        if len(redone) == 5:
            break
    assert sorted(r.request_id for r in redone) == sorted(f"drain-{i}" for i in range(5))


async def test_a_worker_whose_broker_is_gone_stops_within_the_bound(
    own_broker: LocalBroker,
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    llm_server: Any,
) -> None:
    server = await llm_server(latency=SLOW, default=fenced("return 42"))
    settings = settings_factory(
        bootstrap_servers=own_broker.bootstrap,
        openai_base_url=server.base_url,
        generate_concurrency=5,
    )
    await ensure_topics(settings)
    drain = {"CODEGEN_DRAIN_SECONDS": str(DRAIN_SECONDS)}
    supervisor = workers_factory(settings, {"generate": 1}, env=drain)
    await send_stubs(settings, 5)
    await until_in_flight(server, 5)
    await asyncio.to_thread(own_broker.stop)

    await asyncio.sleep(3)  # the worker notices: connections refused, requests failing
    code, took = await sigterm(supervisor)
    assert took < STOP_BOUND, f"{took:.1f} s to stop"
    assert code in (0, EXIT_STOP_TIMEOUT), code
