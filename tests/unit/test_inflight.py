"""In-flight records: bounded, drained on shutdown, acked in offset order per partition."""

from __future__ import annotations

import asyncio

from pipeline.workers.inflight import InFlight, OrderedAcks


def test_records_finishing_out_of_order_are_acked_in_order() -> None:
    acks = OrderedAcks()
    acked: list[int] = []
    done = [acks.track("p0", lambda i=i: acked.append(i)) for i in range(4)]
    done[2]()
    done[1]()
    assert acked == [], "offset 0 is still running: nothing after it may be committed"
    done[0]()
    assert acked == [0, 1, 2]
    done[3]()
    assert acked == [0, 1, 2, 3]
    assert len(acks) == 0


def test_partitions_do_not_wait_for_each_other() -> None:
    acks = OrderedAcks()
    acked: list[str] = []
    slow = acks.track("p0", lambda: acked.append("p0"))
    acks.track("p1", lambda: acked.append("p1"))()
    assert acked == ["p1"]
    slow()
    assert acked == ["p1", "p0"]


async def test_in_flight_is_bounded_and_drained() -> None:
    in_flight = InFlight(3)
    running = 0
    peak = 0
    finished = 0

    async def work() -> None:
        nonlocal running, peak, finished
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        finished += 1

    for _ in range(10):
        await in_flight.start(work())
    await in_flight.drain(5)
    assert peak == 3
    assert finished == 10
    assert len(in_flight) == 0


async def test_a_crashed_record_is_reported() -> None:
    errors: list[BaseException] = []
    in_flight = InFlight(2, on_error=errors.append)

    async def boom() -> None:
        raise RuntimeError("lost producer")

    await in_flight.start(boom())
    await in_flight.drain(1)
    await asyncio.sleep(0)
    assert [str(e) for e in errors] == ["lost producer"]
