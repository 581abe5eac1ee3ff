"""Creating the catalogue's topics, idempotently."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import TOPICS
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
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            for spec in TOPICS.values()
            if spec.name(settings.topic_prefix) not in existing
        ]
        if not wanted:
            return []
        response = await admin.create_topics(wanted)
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
        return created
    finally:
        await admin.close()
