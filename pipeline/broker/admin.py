"""Creating the catalogue's topics, idempotently, and waiting until the broker can run the
workers' consumer groups."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import MAX_MESSAGE_BYTES, TOPICS, WORKERS
from pipeline.settings import Settings


@dataclass(frozen=True)
class Replication:
    """What every topic of the project gets: replicas and ``min.insync.replicas`` (``None``:
    the cluster's default)."""

    factor: int
    min_insync: int | None
    brokers: int


@dataclass(frozen=True)
class UnderReplicated:
    topic: str
    replicas: int
    wanted: int


@dataclass
class TopicsReport:
    replication: Replication
    created: list[str] = field(default_factory=list)
    under_replicated: list[UnderReplicated] = field(default_factory=list)


async def cluster_replication(admin: AIOKafkaAdminClient, settings: Settings) -> Replication:
    """CODEGEN_REPLICATION_FACTOR, or the cluster's ``default.replication.factor``; either
    capped by the number of brokers (a topic cannot have more replicas than brokers)."""
    cluster = await admin.describe_cluster()
    brokers = len(cluster["brokers"])
    factor = settings.replication_factor
    if factor is None:
        try:
            configs = await broker_configs(admin, cluster["controller_id"], cluster["brokers"])
        except KafkaError:  # e.g. not authorised to describe the brokers' configs
            configs = {}
        # Kafka's own default for internal topics when the cluster does not say.
        factor = int(configs.get("default.replication.factor", "3"))
    factor = max(1, min(factor, brokers))
    min_insync = settings.min_insync_replicas
    if min_insync is not None:
        min_insync = min(min_insync, factor)
    return Replication(factor, min_insync, brokers)


async def broker_configs(
    admin: AIOKafkaAdminClient, controller_id: int, brokers: list[dict[str, Any]]
) -> dict[str, str]:
    """The replication defaults one broker of the cluster runs with."""
    broker_id = next(
        (b["node_id"] for b in brokers if b["node_id"] == controller_id), brokers[0]["node_id"]
    )
    resource = ConfigResource(
        ConfigResourceType.BROKER,
        str(broker_id),
        {"default.replication.factor": None, "min.insync.replicas": None},
    )
    values: dict[str, str] = {}
    for response in await admin.describe_configs([resource]):
        for resource_result in response.resources:
            if resource_result[0] != 0:  # an error code: no values
                continue
            for entry in resource_result[4]:
                values[entry[0]] = entry[1]
    return values


def topic_configs(
    retention_ms: int, replication: Replication, *, compacted: bool = False
) -> dict[str, str]:
    configs = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
    if compacted:
        configs["cleanup.policy"] = "compact"
    else:
        configs["retention.ms"] = str(retention_ms)
    if replication.min_insync is not None:
        configs["min.insync.replicas"] = str(replication.min_insync)
    return configs


async def ensure_topics(settings: Settings) -> TopicsReport:
    """Create the topics that are missing with the replication of ``cluster_replication``;
    report existing ones with fewer replicas. Also wait until every worker's consumer group
    has a coordinator (see ``_wait_for_coordinators``)."""
    admin = AIOKafkaAdminClient(
        **aiokafka_options(settings), request_timeout_ms=int(settings.broker_timeout * 1000)
    )
    await admin.start()
    try:
        replication = await cluster_replication(admin, settings)
        report = TopicsReport(replication)
        names = [spec.name(settings.topic_prefix) for spec in TOPICS.values()]
        existing = set(await admin.list_topics()) & set(names)
        if existing:
            report.under_replicated = await _under_replicated(admin, sorted(existing), replication)
        wanted = [
            NewTopic(
                spec.name(settings.topic_prefix),
                num_partitions=spec.partitions,
                replication_factor=replication.factor,
                topic_configs=topic_configs(
                    spec.retention_ms, replication, compacted=spec.compacted
                ),
            )
            for spec in TOPICS.values()
            if spec.name(settings.topic_prefix) not in existing
        ]
        if wanted:
            response = await admin.create_topics(wanted)
            for name, code, *_ in response.topic_errors:
                if code == 0:
                    report.created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
            await _wait_for_leaders(admin, [topic.name for topic in wanted])
        await _wait_for_coordinators(admin, [f"{settings.topic_prefix}{w}" for w in WORKERS])
        return report
    finally:
        await admin.close()


async def _under_replicated(
    admin: AIOKafkaAdminClient, names: list[str], replication: Replication
) -> list[UnderReplicated]:
    found = []
    for topic in await admin.describe_topics(names):
        if topic["error_code"] != 0 or not topic["partitions"]:
            continue
        replicas = min(len(p["replicas"]) for p in topic["partitions"])
        if replicas < replication.factor:
            found.append(UnderReplicated(topic["topic"], replicas, replication.factor))
    return found


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
