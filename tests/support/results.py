"""Reading what the pipeline ended with: the terminal topics from their start."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import topic_name
from pipeline.records import FileStored, RequestFailed, decode
from pipeline.settings import Settings


async def read_terminal(
    settings: Settings, expected: set[str], timeout: float
) -> Counter[tuple[str, str]]:
    """(request id, outcome) counts read from the start of ``stored`` and ``failed``."""
    consumer = AIOKafkaConsumer(
        topic_name("stored", settings.topic_prefix),
        topic_name("failed", settings.topic_prefix),
        **aiokafka_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: Counter[tuple[str, str]] = Counter()
    stored_topic = topic_name("stored", settings.topic_prefix)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if tp.topic == stored_topic:
                        record: Any = decode(FileStored, message.value)
                        seen[(record.request_id, "stored")] += 1
                    else:
                        record = decode(RequestFailed, message.value)
                        seen[(record.request_id, f"failed:{record.error_code}")] += 1
            if expected <= {request_id for request_id, _ in seen} and not batches:
                break
    finally:
        await consumer.stop()
    return seen
