"""SIGTERM drains a worker: what is in flight finishes, is produced and committed."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pipeline.broker.admin import ensure_topics
from pipeline.catalogue import topic_name
from pipeline.processors.stages import ExtractProcessor
from pipeline.records import CodeGenerated, GenerationRequest, decode, encode
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.support.llm_server import fenced

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
    extract = ExtractProcessor(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.effective_bootstrap)
    await producer.start()
    try:
        for index in range(IN_FLIGHT):
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

    for _ in range(600):
        if server.in_flight == IN_FLIGHT:
            break
        await asyncio.sleep(0.1)
    assert server.in_flight == IN_FLIGHT, f"only {server.in_flight} calls in flight"
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
