"""Where requests wait: each worker group's members, committed vs. end offsets (lag), input
rate and the age of its oldest unprocessed record, read from the cluster alone."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from pydantic import BaseModel

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGE_SPECS, topic_name
from pipeline.settings import Settings

# The topics each worker group consumes; its group id is ``<prefix><worker>``.
CONSUMED: dict[str, tuple[str, ...]] = {
    **{spec.name: spec.inputs for spec in STAGE_SPECS.values()},
    "metrics": ("metrics",),
    "executor": ("intents",),
}
RATE_WINDOW_SECONDS = 60.0
HINT_SHARE = 0.5
"""A stage holding at least this share of the whole lag gets a hint."""
HINT_MIN_LAG = 10
"""Below this many waiting records in all, nothing is worth a hint."""
_PID = re.compile(r"-pid(\d+)$")


class PartitionLag(BaseModel):
    topic: str
    partition: int
    committed: int | None
    """The group's committed offset (the next record it will read); None: never committed."""
    end: int
    lag: int
    oldest_waiting_seconds: float | None = None


class Member(BaseModel):
    client_id: str
    host: str
    pid: int | None
    partitions: list[str]


class GroupStatus(BaseModel):
    worker: str
    group: str
    state: str
    members: list[Member]
    partitions: list[PartitionLag]
    lag: int
    records_per_second: float
    """Records that arrived on the group's topics per second over the last minute."""
    oldest_waiting_seconds: float | None


class PipelineStatus(BaseModel):
    bootstrap: str
    taken_at: datetime
    groups: list[GroupStatus]
    total_lag: int
    hint: str | None


def client_id_for(app_id: str, host: str, pid: int) -> str:
    """A worker's Kafka client id: ``codegen status`` reads its pid back from it."""
    return f"{app_id}-{host}-pid{pid}"


def backlog_hint(groups: list[GroupStatus]) -> str | None:
    """What to start when the backlog sits in one place, or waits for a worker none runs."""
    total = sum(group.lag for group in groups)
    if total >= HINT_MIN_LAG:
        top = max(groups, key=lambda group: group.lag)
        share = top.lag / total
        if share >= HINT_SHARE:
            more = "more " if top.members else ""
            return (
                f"{top.worker} holds {share:.0%} of the lag: "
                f"start {more}`codegen worker {top.worker}`"
            )
    idle = [group for group in groups if group.lag and not group.members]
    if idle:
        group = max(idle, key=lambda group: group.lag)
        return (
            f"no worker consumes {group.worker} ({group.lag} waiting): "
            f"start `codegen worker {group.worker}`"
        )
    return None


def _members(described: Any, topics: set[str]) -> tuple[str, list[Member]]:
    """The group's state and members from a DescribeGroups entry."""
    state, protocol_type, raw_members = described[2], described[3], described[5]
    members = []
    for _member_id, client_id, host, _metadata, assignment in raw_members:
        partitions: list[str] = []
        if protocol_type == "consumer" and assignment:
            decoded = ConsumerProtocolMemberAssignment.decode(assignment)
            partitions = [
                f"{tp.topic}[{tp.partition}]"
                for tp in sorted(decoded.partitions())
                if tp.topic in topics
            ]
        pid = _PID.search(client_id)
        members.append(
            Member(
                client_id=client_id,
                host=host.lstrip("/"),
                pid=int(pid.group(1)) if pid else None,
                partitions=partitions,
            )
        )
    return state, members


async def _oldest_timestamps(
    consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int], timeout: float
) -> dict[TopicPartition, int]:
    """The timestamp (ms) of the record at each position: the oldest one still waiting."""
    found: dict[TopicPartition, int] = {}
    if not positions:
        return found
    consumer.assign(list(positions))
    for tp, offset in positions.items():
        consumer.seek(tp, offset)
    deadline = time.monotonic() + timeout
    while len(found) < len(positions) and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=500, max_records=len(positions) * 4)
        for tp, records in batches.items():
            if records and tp not in found:
                found[tp] = records[0].timestamp
                consumer.pause(tp)
    return found


async def collect_status(settings: Settings) -> PipelineStatus:
    """The state of every worker group of ``settings.topic_prefix``."""
    options = aiokafka_options(settings)
    timeout_ms = int(settings.broker_timeout * 1000)
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=timeout_ms)
    consumer = AIOKafkaConsumer(
        **options,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=timeout_ms,
    )
    await admin.start()
    try:
        await consumer.start()
        try:
            return await _collect(settings, admin, consumer)
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def _collect(
    settings: Settings, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer
) -> PipelineStatus:
    prefix = settings.topic_prefix
    wanted = sorted({topic_name(key, prefix) for keys in CONSUMED.values() for key in keys})
    partitions_of = {
        topic["topic"]: sorted(p["partition"] for p in topic["partitions"])
        for topic in await admin.describe_topics(wanted)
        if topic["error_code"] == 0
    }
    topics_of = {
        worker: [
            topic_name(key, prefix) for key in keys if topic_name(key, prefix) in partitions_of
        ]
        for worker, keys in CONSUMED.items()
    }
    tps_of = {
        worker: [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in partitions_of[topic]
        ]
        for worker, topics in topics_of.items()
    }
    every_tp = sorted({tp for tps in tps_of.values() for tp in tps})
    now_ms = int(time.time() * 1000)
    ends, beginnings, since = await asyncio.gather(
        consumer.end_offsets(every_tp),
        consumer.beginning_offsets(every_tp),
        consumer.offsets_for_times(
            dict.fromkeys(every_tp, now_ms - int(RATE_WINDOW_SECONDS * 1000))
        ),
    )
    group_ids = {worker: f"{prefix}{worker}" for worker in CONSUMED}
    described: dict[str, Any] = {}
    # One group a request: aiokafka 0.14 misreads a DescribeGroups answer about several.
    answers = await asyncio.gather(
        *(admin.describe_consumer_groups([group]) for group in group_ids.values())
    )
    for responses in answers:
        for response in responses:
            for entry in response.groups:
                described[entry[1]] = entry
    committed_of = {
        worker: await admin.list_consumer_group_offsets(group, partitions=tps_of[worker])
        for worker, group in group_ids.items()
        if tps_of[worker]
    }
    waiting: dict[TopicPartition, int] = {}
    rows: dict[str, list[PartitionLag]] = {}
    for worker, tps in tps_of.items():
        rows[worker] = []
        committed = committed_of.get(worker, {})
        for tp in tps:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else None
            # A group that never committed starts at the beginning (auto_offset_reset).
            position = max(offset if offset is not None else 0, beginnings[tp])
            lag = max(0, ends[tp] - position)
            rows[worker].append(PartitionLag(**_tp(tp), committed=offset, end=ends[tp], lag=lag))
            if lag:
                waiting[tp] = position
    stamps = await _oldest_timestamps(consumer, waiting, timeout=settings.broker_timeout)
    groups = []
    for worker, group_id in group_ids.items():
        for row in rows[worker]:
            stamp = stamps.get(TopicPartition(row.topic, row.partition))
            if stamp is not None and row.lag:
                row.oldest_waiting_seconds = max(0.0, (now_ms - stamp) / 1000)
        entry = described.get(group_id)
        state, members = (
            _members(entry, set(topics_of[worker])) if entry is not None else ("Dead", [])
        )
        arrived = sum(
            ends[tp] - found.offset for tp in tps_of[worker] if (found := since.get(tp)) is not None
        )
        ages = [r.oldest_waiting_seconds for r in rows[worker] if r.oldest_waiting_seconds]
        groups.append(
            GroupStatus(
                worker=worker,
                group=group_id,
                state=state,
                members=members,
                partitions=rows[worker],
                lag=sum(row.lag for row in rows[worker]),
                records_per_second=arrived / RATE_WINDOW_SECONDS,
                oldest_waiting_seconds=max(ages) if ages else None,
            )
        )
    return PipelineStatus(
        bootstrap=settings.effective_bootstrap,
        taken_at=datetime.now(UTC),
        groups=groups,
        total_lag=sum(group.lag for group in groups),
        hint=backlog_hint(groups),
    )


def _tp(tp: TopicPartition) -> dict[str, Any]:
    return {"topic": tp.topic, "partition": tp.partition}
