"""The store's ledger in Kafka: deduplication holds across hosts without a shared disk.

Two store workers with separate store roots (two hosts) on one broker, one after the other,
fed `verified` records by hand: a request stored by the first is, redelivered to the second,
not stored nor emitted again; a new request reusing its id gets `DUPLICATE_REQUEST_ID`; and
the second, restarted, reads its partitions' entries back from the ledger topic; a tombstone
on that topic forgets the id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import topic_name
from pipeline.records import GenerationRequest, StoreLedgerEntry
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.integration.test_generation import FAST_GROUP, read_topic
from tests.support.records import verified

pytestmark = pytest.mark.integration

TIMEOUT = 120.0
FIRST = GenerationRequest(request_id="shared", source="x = 1\n", output_path="first.py")
OTHER = GenerationRequest(request_id="shared", source="y = 2\n", output_path="second.py")
THIRD = GenerationRequest(request_id="shared", source="z = 3\n", output_path="third.py")
FRESH = GenerationRequest(request_id="fresh", source="w = 4\n", output_path="fresh.py")


async def send(settings: Settings, *requests: GenerationRequest) -> None:
    """Each request's `verified` record, keyed by its id (as the verify stage sends it)."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        for request in requests:
            await producer.send_and_wait(
                topic_name("verified", settings.topic_prefix),
                verified(request),
                key=request.request_id.encode(),
            )
    finally:
        await producer.stop()


async def forget(settings: Settings, request_id: str) -> None:
    """A tombstone for ``request_id`` on the ledger topic (on its request's partition)."""
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    await producer.start()
    try:
        topic = topic_name("store-ledger", settings.topic_prefix)
        await producer.send_and_wait(topic, None, key=request_id.encode())
    finally:
        await producer.stop()


def ids(records: list[Any], request_id: str, code: str | None = None) -> int:
    return sum(
        1 for r in records if r.request_id == request_id and (code is None or r.error_code == code)
    )


def duplicates_refused(count: int) -> Callable[[list[Any]], bool]:
    return lambda records: ids(records, "shared", "DUPLICATE_REQUEST_ID") >= count


def kill(workers: Supervisor) -> None:
    """kill -9: whatever the worker had not committed is redelivered to the next one."""
    for worker in workers.workers:
        worker.process.kill()
        worker.process.wait()


def python_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))


async def test_deduplication_holds_across_store_hosts_and_restarts(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    tmp_path: Path,
) -> None:
    host_a = settings_factory(store_root=tmp_path / "host-a")
    host_b = host_a.model_copy(update={"store_root": tmp_path / "host-b"})
    await ensure_topics(host_a)
    store = {"store": 1}

    first_host = workers_factory(host_a, store, env=FAST_GROUP)
    await send(host_a, FIRST)
    await read_topic(host_a, "stored", until=lambda rs: ids(rs, "shared") == 1, timeout=TIMEOUT)
    entries: list[StoreLedgerEntry] = await read_topic(
        host_a,
        "store-ledger",
        until=lambda es: any(e.request_id == "shared" and e.delivered for e in es),
        timeout=TIMEOUT,
    )
    assert entries[-1].requested_path == "first.py"
    kill(first_host)  # maybe before it committed: then the record is redelivered too

    # Another host, its own disk: the same record again (a redelivery), a new request under
    # the same id, and a request of its own. One key, one partition: once the new request
    # under "shared" is answered, the redelivery before it has been handled.
    second_host = workers_factory(host_b, store, env=FAST_GROUP)
    await send(host_b, FIRST, OTHER, FRESH)
    failed = await read_topic(host_b, "failed", until=duplicates_refused(1), timeout=TIMEOUT)
    stored = await read_topic(
        host_b, "stored", until=lambda rs: ids(rs, "fresh") == 1, timeout=TIMEOUT
    )
    refused = next(r for r in failed if r.request_id == "shared")
    assert refused.stage == "store" and "first.py" in refused.message
    assert ids(stored, "shared") == 1, "the redelivery emitted no second stored record"
    assert python_files(host_b.store_root) == ["fresh.py"]
    assert python_files(host_a.store_root) == ["first.py"]

    # Restarted, the second host reads its partitions' entries back from the ledger topic.
    second_host.stop()
    restarted = workers_factory(host_b, store, env=FAST_GROUP)
    await send(host_b, FIRST, THIRD)
    failed = await read_topic(host_b, "failed", until=duplicates_refused(2), timeout=TIMEOUT)
    stored = await read_topic(host_b, "stored")
    assert ids(stored, "shared") == 1 and ids(stored, "fresh") == 1
    assert ids(failed, "shared") == 2
    assert python_files(host_b.store_root) == ["fresh.py"]

    # A tombstone forgets the id: read back by the next worker, the id is free again.
    restarted.stop()
    await forget(host_b, "shared")
    workers_factory(host_b, store, env=FAST_GROUP)
    await send(host_b, THIRD)
    stored = await read_topic(
        host_b, "stored", until=lambda rs: ids(rs, "shared") == 2, timeout=TIMEOUT
    )
    assert [r.output_path for r in stored if r.request_id == "shared"] == ["first.py", "third.py"]
    assert python_files(host_b.store_root) == ["fresh.py", "third.py"]
