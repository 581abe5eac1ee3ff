"""The reconnect backoff: its schedule, what it holds back and what it lets through, and guards
for the aiokafka and Faust hooks it is installed through (README, "Where we reach into
Faust"): they fail when upstream renames a hook or stops calling it."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import faust
import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer

from pipeline.settings import Settings
from pipeline.workers.faust_app import new_app
from pipeline.workers.reconnect import ReconnectBackoff, ReconnectPolicy, use_reconnect_backoff
from tests.support.listener import resetting_listener
from tests.unit.test_faust_hooks import calls, parameters

POLICY = ReconnectPolicy(initial=0.05, maximum=1.0)
MIDDLE = 0.5  # a draw without jitter


def test_the_delay_doubles_from_the_initial_wait_up_to_the_cap() -> None:
    delays = [POLICY.delay(failures, MIDDLE) for failures in range(1, 9)]
    assert delays == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert POLICY.delay(10_000, MIDDLE) == 1.0


def test_the_jitter_spreads_a_fifth_either_way_and_never_past_the_cap() -> None:
    assert POLICY.delay(2, 0.0) == pytest.approx(0.08)
    assert POLICY.delay(2, 0.999999) == pytest.approx(0.12)
    assert POLICY.delay(6, 0.999999) == 1.0
    assert POLICY.delay(6, 0.0) == pytest.approx(0.8)


class FakeConnection:
    def connected(self) -> bool:
        return True


class FakeClient:
    """What the backoff uses of an ``AIOKafkaClient``: ``_conns`` and ``_get_conn``."""

    def __init__(self) -> None:
        self._conns: dict[tuple[Any, int], FakeConnection] = {}
        self.answering = False
        self.attempts = 0

    async def _get_conn(self, node_id: Any, *, group: int = 0, no_hint: bool = False) -> Any:
        self.attempts += 1
        await asyncio.sleep(0)  # a connection takes a while: other callers queue meanwhile
        if not self.answering:
            return None
        conn = self._conns[(node_id, group)] = FakeConnection()
        return conn


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_failed_node_is_not_tried_again_until_its_backoff_has_passed() -> None:
    client, clock = FakeClient(), Clock()
    ReconnectBackoff(POLICY, clock=clock, draw=lambda: MIDDLE).install(client)
    assert await client._get_conn(1) is None
    assert await client._get_conn(1) is None  # within 50 ms: no attempt
    assert client.attempts == 1
    clock.now += 0.051
    assert await client._get_conn(1) is None
    clock.now += 0.051  # the second wait is 100 ms
    assert await client._get_conn(1) is None
    assert client.attempts == 2
    assert await client._get_conn(2) is None  # another node has its own backoff
    assert client.attempts == 3


async def test_a_node_that_answers_again_is_connected_at_the_next_try_and_starts_afresh() -> None:
    client, clock = FakeClient(), Clock()
    backoff = ReconnectBackoff(POLICY, clock=clock, draw=lambda: MIDDLE)
    backoff.install(client)
    for _ in range(10):  # a long outage: at the cap
        await client._get_conn(1)
        clock.now += 1.0
    client.answering = True
    assert await client._get_conn(1) is not None
    assert not backoff.waiting(1)
    client.answering = False
    client._conns.clear()  # the connection breaks
    await client._get_conn(1, group=1)
    clock.now += 0.051  # the first wait again, not the cap
    await client._get_conn(1, group=1)
    assert client.attempts == 13  # tried again after 50 ms


async def test_a_node_slow_to_answer_does_not_hold_back_another() -> None:
    client, gate = FakeClient(), asyncio.Event()
    upstream = client._get_conn

    async def slow_for_node_1(node_id: Any, **options: Any) -> Any:
        if node_id == 1:
            await gate.wait()  # a dead host: the connect hangs until its timeout
        return await upstream(node_id, **options)

    client._get_conn = slow_for_node_1  # type: ignore[method-assign]
    ReconnectBackoff(POLICY).install(client)
    client.answering = True
    stuck = asyncio.create_task(client._get_conn(1))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(client._get_conn(2), timeout=5) is not None
    gate.set()
    assert await stuck is not None


async def test_an_open_connection_is_handed_out_while_the_node_waits() -> None:
    client, clock = FakeClient(), Clock()
    backoff = ReconnectBackoff(POLICY, clock=clock, draw=lambda: MIDDLE)
    backoff.install(client)
    open_conn = client._conns[(1, 0)] = FakeConnection()
    backoff.record(1, connected=False)  # e.g. the coordination connection failed
    assert await client._get_conn(1) is open_conn
    assert await client._get_conn(1, group=1) is None
    assert client.attempts == 0


async def test_callers_waiting_for_one_attempt_see_its_outcome() -> None:
    client = FakeClient()
    ReconnectBackoff(POLICY).install(client)
    results = await asyncio.gather(*(client._get_conn(1) for _ in range(5)))
    assert results == [None] * 5
    assert client.attempts == 1
    answering = FakeClient()
    answering.answering = True
    ReconnectBackoff(POLICY).install(answering)
    connected = await asyncio.gather(*(answering._get_conn(1) for _ in range(5)))
    assert all(conn is connected[0] for conn in connected)
    assert answering.attempts == 1


def test_a_zero_cap_turns_the_backoff_off() -> None:
    client = FakeClient()
    upstream = client._get_conn
    use_reconnect_backoff(client, ReconnectPolicy(initial=0.05, maximum=0))
    use_reconnect_backoff(client, None)
    assert client._get_conn == upstream


# -- aiokafka: the client opens its connections to nodes in _get_conn ---------------------


def test_aiokafka_opens_node_connections_in_the_method_we_wrap() -> None:
    assert parameters(AIOKafkaClient._get_conn) == ["self", "node_id", "group", "no_hint"]
    assert calls(AIOKafkaClient._get_conn, "self._conns[conn_id] = await create_conn(")
    assert calls(AIOKafkaClient._get_conn, "conn_id = (node_id, group)")
    assert calls(AIOKafkaClient.ready, "await self._get_conn(node_id, group=group)")
    assert calls(AIOKafkaClient.send, "await self.ready(node_id, group=group)")
    assert calls(AIOKafkaClient._metadata_update, "await self._get_conn(node_id)")


async def test_a_real_aiokafka_client_connects_once_per_backoff() -> None:
    with resetting_listener() as listener:
        bare = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{listener.port}")
        held = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{listener.port}")
        use_reconnect_backoff(held, ReconnectPolicy(initial=30.0, maximum=30.0))
        for client in (bare, held):
            client.cluster = ClusterMetadata(bootstrap_servers=f"127.0.0.1:{listener.port}")
            for _ in range(3):
                assert not await client.ready("bootstrap-0")
            await client.close()
    assert len(listener.attempts) == 3 + 1


# -- Faust: the consumer and the producer are built through the hooks we override -----------


def test_faust_builds_its_consumer_and_producer_through_the_hooks_we_override() -> None:
    assert parameters(AIOKafkaConsumerThread._create_consumer) == ["self", "loop"]
    assert calls(
        AIOKafkaConsumerThread.on_start,
        "self._consumer = self._create_consumer(loop=self.thread_loop)",
    )
    assert parameters(Producer._new_producer) == ["self", "transactional_id"]
    assert calls(Producer.on_start, "producer = self._producer = self._new_producer()")
    assert "transactional_id" in inspect.signature(Producer._new_producer).parameters


async def test_every_worker_client_gets_the_backoff_of_the_settings() -> None:
    settings = Settings(
        _env_file=None,
        bootstrap_servers="127.0.0.1:1",
        reconnect_backoff_ms=70,
        reconnect_backoff_max_ms=900,
    )
    app: faust.App = new_app("backoff-test", settings)
    assert app.reconnect_policy == ReconnectPolicy(initial=0.07, maximum=0.9)
    consumer = app.consumer._thread._create_consumer(loop=asyncio.get_running_loop())
    producer = app.producer._new_producer()
    for client in (consumer._client, producer.client):  # neither started: nothing connects
        assert "ReconnectBackoff.install" in client._get_conn.__qualname__
        await client.close()
