"""Creating the catalogue's topics, idempotently, and waiting until the broker can run the
workers' consumer groups."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import MAX_MESSAGE_BYTES, TOPICS, WORKERS
from pipeline.settings import Settings


async def ensure_topics(settings: Settings, *, replication_factor: int = 1) -> list[str]:
    """Create the topics that are missing; return the names created. Also wait until every
    worker's consumer group has a coordinator (see ``_wait_for_coordinators``)."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                spec.name(settings.topic_prefix),
                num_partitions=spec.partitions,
                replication_factor=replication_factor,
                topic_configs={
                    "retention.ms": str(spec.retention_ms),
                    "max.message.bytes": str(MAX_MESSAGE_BYTES),
                },
            )
            for spec in TOPICS.values()
            if spec.name(settings.topic_prefix) not in existing
        ]
        created: list[str] = []
        if wanted:
            response = await admin.create_topics(wanted)
            for name, code, *_ in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
            await _wait_for_leaders(admin, [topic.name for topic in wanted])
        await _wait_for_coordinators(admin, [f"{settings.topic_prefix}{w}" for w in WORKERS])
        return created
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30.0
) -> None:
    """New topics are usable once every partition has a leader; clients then start quietly."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        described = await admin.describe_topics(names)
        if all(
            topic["error_code"] == 0
            and topic["partitions"]
            and all(p["leader"] >= 0 and p["error_code"] == 0 for p in topic["partitions"])
            for topic in described
        ):
            return
        await asyncio.sleep(0.2)


async def _wait_for_coordinators(
    admin: AIOKafkaAdminClient, groups: list[str], timeout: float = 30.0
) -> None:
    """A fresh broker creates its offsets topic on the first group lookup and answers
    "coordinator not available" until it is loaded; aiokafka logs each such answer as an
    error. Asking here first lets the workers start without those lines."""
    deadline = asyncio.get_running_loop().time() + timeout
    pending = list(groups)
    while pending and asyncio.get_running_loop().time() < deadline:
        try:
            await admin.find_coordinator(pending[0])
        except KafkaError:
            await asyncio.sleep(0.2)
        else:
            pending.pop(0)
