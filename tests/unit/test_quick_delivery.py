"""The workers' consumer: one task per delivery, and ``wait_first``'s behaviour kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import faust
import pytest

from pipeline.workers.delivery import QuickDeliveryConsumer, use_pipeline_consumer


@pytest.fixture
async def consumer() -> AsyncIterator[QuickDeliveryConsumer]:
    app = faust.App("quick-delivery-test", broker="kafka://127.0.0.1:1")
    use_pipeline_consumer(app)
    made = app.consumer  # not started: nothing connects
    assert isinstance(made, QuickDeliveryConsumer)
    yield made


async def test_a_delivery_runs_to_its_result(consumer: QuickDeliveryConsumer) -> None:
    async def deliver() -> str:
        await asyncio.sleep(0)
        return "delivered"

    results = await consumer.wait_first(deliver(), consumer.suspend_flow.wait())
    assert results.results == ["delivered"]
    assert not results.stopped
    assert not consumer._deliveries


async def test_suspending_the_flow_abandons_a_waiting_delivery(
    consumer: QuickDeliveryConsumer,
) -> None:
    blocked = asyncio.Event()
    reached_end = False

    async def deliver() -> None:
        nonlocal reached_end
        blocked.set()
        await asyncio.sleep(60)  # a full stream buffer
        reached_end = True

    waiting = asyncio.ensure_future(consumer.wait_first(deliver(), consumer.suspend_flow.wait()))
    await blocked.wait()
    consumer.stop_flow()  # a rebalance starts
    results = await asyncio.wait_for(waiting, timeout=5)
    assert not results.stopped and results.results == [None]
    assert not reached_end
    assert not consumer._deliveries


async def test_cancelling_the_fetch_loop_reaches_the_delivery(
    consumer: QuickDeliveryConsumer,
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def deliver() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop_task = asyncio.ensure_future(consumer.wait_first(deliver(), consumer.suspend_flow.wait()))
    await started.wait()
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop_task
    assert cancelled.is_set()


async def test_errors_of_a_delivery_propagate(consumer: QuickDeliveryConsumer) -> None:
    async def deliver() -> None:
        raise ValueError("bad message")

    with pytest.raises(ValueError, match="bad message"):
        await consumer.wait_first(deliver(), consumer.suspend_flow.wait())


async def test_other_waits_take_mode_s_path(consumer: QuickDeliveryConsumer) -> None:
    other = asyncio.Event()

    async def work() -> int:
        return 1

    pair = (work(), other.wait())
    assert not consumer._is_delivery(pair, None)
    for coroutine in pair:
        coroutine.close()
    results = await consumer.wait_first(work(), other.wait(), timeout=5)
    assert results.results == [1]


async def test_a_suspended_flow_takes_mode_s_path(consumer: QuickDeliveryConsumer) -> None:
    consumer.stop_flow()

    async def deliver() -> int:
        await asyncio.sleep(60)
        return 1

    results = await asyncio.wait_for(
        consumer.wait_first(deliver(), consumer.suspend_flow.wait()), timeout=5
    )
    assert results.results == [True]  # the flow event won: the delivery was given up
