"""Creating the catalogue's topics, idempotently."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import MAX_MESSAGE_BYTES, TOPICS
from pipeline.settings import Settings


async def ensure_topics(settings: Settings, *, replication_factor: int = 1) -> list[str]:
    """Create the topics that are missing; return the names created."""
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
