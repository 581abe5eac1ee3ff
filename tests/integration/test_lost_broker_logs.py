"""A worker whose broker has gone away logs the loss once per interval, not once per
attempt, and still stops on SIGTERM within its bound."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker
from pipeline.catalogue import topic_name
from pipeline.client import PipelineClient
from pipeline.records import GenerationRequest
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import settings_env

pytestmark = pytest.mark.integration

REPEAT_SECONDS = 4.0
DOWN_SECONDS = 10.0
MAX_LINES = 60  # about 500 a second without the limit
DRAIN_SECONDS = 2.0
STOP_BOUND = DRAIN_SECONDS + 5 + 3  # drain, margin (SHUTDOWN_MARGIN_SECONDS), slack


async def until_extracted(settings: Settings, request_id: str) -> None:
    consumer = AIOKafkaConsumer(
        topic_name("stubs", settings.topic_prefix),
        bootstrap_servers=settings.effective_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(120):
            async for message in consumer:
                if message.key == request_id.encode():
                    return
    finally:
        await consumer.stop()


async def test_a_worker_without_its_broker_logs_a_bounded_number_of_lines(
    own_broker: LocalBroker, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_factory(bootstrap_servers=own_broker.bootstrap)
    await ensure_topics(settings)
    log_path = tmp_path / "worker.log"
    env = {
        **settings_env(settings),
        "CODEGEN_LOG_REPEAT_SECONDS": str(REPEAT_SECONDS),
        "CODEGEN_DRAIN_SECONDS": str(DRAIN_SECONDS),
    }
    with log_path.open("wb") as log:

        def spawn(stage: str, environment: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker", stage],
                env={**os.environ, **(environment or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        supervisor = Supervisor({"extract": 1}, env=env, spawn=spawn)
        supervisor.start()
        try:
            async with PipelineClient(settings) as client:
                await client.submit(
                    GenerationRequest(request_id="up", source="x = 1\n", output_path="x.py")
                )
            await until_extracted(settings, "up")  # the worker is in its group, consuming
            await asyncio.to_thread(own_broker.stop)
            before = log_path.stat().st_size
            await asyncio.sleep(DOWN_SECONDS)
            during = log_path.read_bytes()[before:].decode("utf-8", "replace").splitlines()

            worker = supervisor.workers[0].process
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 60)
            took = time.monotonic() - started
        finally:
            supervisor.stop()

    assert any("suppressed" in line for line in during), "\n".join(during[-20:])
    assert len(during) <= MAX_LINES, f"{len(during)} lines in {DOWN_SECONDS:.0f} s:\n" + "\n".join(
        during[:80]
    )
    assert took < STOP_BOUND, f"{took:.1f} s to stop"
