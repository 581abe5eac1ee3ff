"""The metrics reducer and executor on a real broker, each a separate OS process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pipeline.catalogue import topic_name
from pipeline.records import MetricsEvent, MetricsRecorded, decode, encode
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor

pytestmark = pytest.mark.integration

BASE = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
HOURS = 4
REQUESTS_PER_HOUR = 150


def hour_of_events(hour: int) -> list[MetricsEvent]:
    events = []
    for index in range(REQUESTS_PER_HOUR):
        at = BASE + timedelta(hours=hour, seconds=index * 20)
        request_id = f"h{hour}-{index}"
        events.append(
            MetricsEvent(
                request_id=request_id,
                submitted_at=at,
                stage="extract",
                outcome="ok",
                duration_ms=3.0,
                event_time=at,
            )
        )
        done = at + timedelta(seconds=5)
        events.append(
            MetricsEvent(
                request_id=request_id,
                submitted_at=at,
                stage="store",
                outcome="ok",
                duration_ms=2.0,
                event_time=done,
                end_to_end_ms=5000.0 + index,
            )
        )
    return events


async def send(producer: AIOKafkaProducer, topic: str, events: list[MetricsEvent]) -> None:
    for event in events:
        await producer.send(topic, encode(event), key=event.request_id.encode())
    await producer.flush()


async def wait_for_files(directory: Path, count: int, timeout: float = 180.0) -> list[Path]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        files = sorted(directory.glob("*.json"))
        if len(files) >= count:
            return files
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {sorted(directory.glob('*.json'))} after {timeout} s")


async def read_all(settings: Settings, key: str, minimum: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic_name(key, settings.topic_prefix),
        bootstrap_servers=settings.effective_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [m.value for ms in batches.values() for m in ms]
            if len(values) >= minimum and not batches:
                break
    finally:
        await consumer.stop()
    return values


async def test_windows_close_exactly_once_and_a_killed_reducer_loses_no_counts(
    pipeline_settings: Settings, workers_factory: Callable[..., Supervisor]
) -> None:
    settings = pipeline_settings
    supervisor = workers_factory(settings, {"metrics": 1, "executor": 1})
    metrics_topic = topic_name("metrics", settings.topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=settings.effective_bootstrap, linger_ms=5)
    await producer.start()
    try:
        await send(producer, metrics_topic, hour_of_events(0) + hour_of_events(1))
        hourly = settings.metrics_dir / "hourly"
        await wait_for_files(hourly, 1)  # the reducer is folding: kill it mid-stream
        await send(producer, metrics_topic, hour_of_events(2)[:100])
        supervisor.replace(next(w for w in supervisor.workers if w.stage == "metrics"))
        await send(producer, metrics_topic, hour_of_events(2)[100:] + hour_of_events(3))
        closer = BASE + timedelta(hours=HOURS + 2)
        await send(
            producer,
            metrics_topic,
            [
                MetricsEvent(
                    request_id="closer",
                    submitted_at=closer,
                    stage="extract",
                    outcome="ok",
                    duration_ms=1.0,
                    event_time=closer,
                )
            ],
        )
    finally:
        await producer.stop()

    files = await wait_for_files(hourly, HOURS)
    assert len(files) == HOURS, "one snapshot per closed hourly window"
    for path in files:
        summary = json.loads(path.read_text())["summary"]
        assert summary["requests_started"] == REQUESTS_PER_HOUR, (path.name, summary)
        assert summary["succeeded"] == REQUESTS_PER_HOUR, (path.name, summary)
        assert summary["events"] == 2 * REQUESTS_PER_HOUR, (path.name, summary)
        assert summary["end_to_end_ms"]["count"] == REQUESTS_PER_HOUR

    recorded = [
        decode(MetricsRecorded, value)
        for value in await read_all(settings, "metrics-recorded", HOURS)
    ]
    hourly_records = [r for r in recorded if r.window["kind"] == "hourly"]
    assert len(hourly_records) == HOURS, "published exactly once per closed window"
    assert len({r.intent_id for r in hourly_records}) == HOURS
    assert not supervisor.exited()
