"""Scaling a stage while requests flow: a worker joins, splits the partitions, then leaves.

Both rebalances happen with records in flight; every request still ends stored exactly once
with the right file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGES
from pipeline.client import PipelineClient, build_request
from pipeline.records import GenerationRequest
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source
from tests.support.results import read_terminal

pytestmark = pytest.mark.integration

REQUESTS = 240
SCALED = ("validate", "inject")


async def members_with_partitions(settings: Settings, stage: str) -> int:
    """How many members of the stage's group hold an assignment."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([f"{settings.topic_prefix}{stage}"])
        _, _, state, *_ = response.groups[0]
        members = response.groups[0][5]
        return len([m for m in members if m[-1]]) if state == "Stable" else 0
    finally:
        await admin.close()


async def wait_for_members(settings: Settings, stage: str, count: int) -> None:
    for _ in range(240):
        if await members_with_partitions(settings, stage) == count:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"the {stage} group never had {count} members with partitions")


async def submit_paced(settings: Settings, requests: list[GenerationRequest]) -> None:
    async with PipelineClient(settings) as client:
        for request in requests:
            await client.submit(request)
            await asyncio.sleep(0.05)


async def test_workers_joining_and_leaving_a_stage_lose_nothing(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
) -> None:
    settings = settings_factory()
    await ensure_topics(settings)
    workers_factory(settings, dict.fromkeys(STAGES, 1))
    modules = sorted(EXAMPLES.glob("*.py"))
    requests = [
        build_request(modules[i % 2], output_path=f"scale/{i:04d}/{modules[i % 2].name}")
        for i in range(REQUESTS)
    ]
    for stage in SCALED:
        await wait_for_members(settings, stage, 1)
    submitting = asyncio.create_task(submit_paced(settings, requests))
    await asyncio.sleep(2)
    extra = workers_factory(settings, dict.fromkeys(SCALED, 1))
    for stage in SCALED:
        await wait_for_members(settings, stage, 2)  # the newcomer took partitions
    await asyncio.sleep(2)
    extra.stop()  # SIGTERM: each drains what it holds and leaves the group
    for stage in SCALED:
        await wait_for_members(settings, stage, 1)
    await submitting

    seen = await read_terminal(settings, {r.request_id for r in requests}, timeout=300)
    outcomes = {request_id: outcome for request_id, outcome in seen}
    assert {r.request_id for r in requests} <= set(outcomes)
    assert set(outcomes.values()) == {"stored"}
    assert max(seen.values()) == 1, [key for key, count in seen.items() if count > 1]
    expected = {m.name: expected_source(build_request(m)) for m in modules}
    for request in requests:
        stored = Path(settings.store_root) / request.output_path
        assert stored.read_text(encoding="utf-8") == expected[stored.name], request.output_path
