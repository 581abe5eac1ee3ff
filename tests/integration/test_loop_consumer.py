"""The project's Faust consumer runs its Kafka client on the worker's loop, not in a thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from aiokafka import AIOKafkaProducer
from mode.threads import WorkerThread

from pipeline.catalogue import topic_name
from pipeline.settings import Settings
from pipeline.workers.faust_app import new_app, raw_topic
from pipeline.workers.loop_consumer import LoopConsumerThread

pytestmark = pytest.mark.integration


async def test_a_worker_consumes_on_its_loop_and_stops_cleanly(
    pipeline_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = pipeline_settings
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = new_app(f"{settings.topic_prefix}loop-consumer-test", settings)
    received: asyncio.Queue[bytes] = asyncio.Queue()
    consumed_in: list[int] = []

    @app.agent(raw_topic(app, topic_name("requests", settings.topic_prefix)))
    async def collect(stream):  # type: ignore[no-untyped-def]
        async for value in stream:
            consumed_in.append(threading.get_ident())
            await received.put(value)

    bystander = asyncio.create_task(asyncio.sleep(3600))
    await app.start()
    try:
        client_thread = app.consumer._thread
        assert isinstance(client_thread, LoopConsumerThread)
        assert client_thread.thread_loop is asyncio.get_running_loop()
        assert not [t for t in threading.enumerate() if isinstance(t, WorkerThread)]
        producer = AIOKafkaProducer(bootstrap_servers=settings.effective_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                topic_name("requests", settings.topic_prefix), b"hello", key=b"r-1"
            )
        finally:
            await producer.stop()
        assert await asyncio.wait_for(received.get(), timeout=60) == b"hello"
        assert consumed_in == [threading.get_ident()]
        # Faust's fetch loop still delivers through the one-task path of delivery.py.
        assert app.consumer.quick_deliveries >= 1
        # A long record blocks the loop, consumer included: no thread is there to be missed.
        with caplog.at_level(logging.WARNING):
            time.sleep(4.0)
            await asyncio.sleep(2.5)
        assert "keepalive" not in caplog.text
    finally:
        await app.stop()
    # Stopping the consumer leaves the loop's other tasks alone (mode's thread service
    # cancels every task of its loop when it stops; here that loop is the worker's).
    assert not bystander.done()
    bystander.cancel()
    assert client_thread._consumer is not None and client_thread._consumer._closed
