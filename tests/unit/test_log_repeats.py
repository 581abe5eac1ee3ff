"""Repeated aiokafka and Faust log lines pass once per interval, with a count of the rest."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from pipeline.workers.repeats import RepeatLimiter, limit_repeats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def captured(clock: Clock) -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RepeatLimiter(10.0, clock=clock))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield stream, handler
    root.removeHandler(handler)
    root.setLevel(previous)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_lost_broker_is_logged_once_per_interval_with_the_count(
    captured: tuple[io.StringIO, logging.Handler], clock: Clock
) -> None:
    stream, _handler = captured
    conn = logging.getLogger("aiokafka.conn")
    for attempt in range(500):  # a retry every 20 ms for 10 s, from two nodes
        conn.error(
            "Unable connect to node with id %s: [Errno 111] Connect call failed", attempt % 2
        )
        clock.now += 0.02
    assert lines(stream) == ["Unable connect to node with id 0: [Errno 111] Connect call failed"]
    clock.now += 0.1
    conn.error("Unable connect to node with id %s: [Errno 111] Connect call failed", 1)
    assert lines(stream)[1] == (
        "Unable connect to node with id 1: [Errno 111] Connect call failed "
        "[499 more like this suppressed in the last 10 s]"
    )


def test_other_lines_and_other_loggers_pass(
    captured: tuple[io.StringIO, logging.Handler], clock: Clock
) -> None:
    stream, _handler = captured
    for _ in range(3):
        logging.getLogger("aiokafka.consumer.group_coordinator").warning("LeaveGroup failed")
        logging.getLogger("faust.transport").error("NodeNotReadyError")
        logging.getLogger("pipeline.workers.runner").error("a record failed")
        logging.getLogger("aiokafkaesque").error("not aiokafka's")
    assert lines(stream) == [
        "LeaveGroup failed",
        "NodeNotReadyError",
        "a record failed",
        "not aiokafka's",
        "a record failed",
        "not aiokafka's",
        "a record failed",
        "not aiokafka's",
    ]


def test_a_record_on_two_handlers_is_judged_once() -> None:
    first, second = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(first), logging.StreamHandler(second)]
    limiter = limit_repeats(handlers, 30.0)
    assert limiter is not None
    logger = logging.getLogger("aiokafka.test_two_handlers")
    logger.propagate = False
    for handler in handlers:
        logger.addHandler(handler)
    try:
        logger.error("Connection refused")
        logger.error("Connection refused")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    assert first.getvalue() == second.getvalue() == "Connection refused\n"


def test_an_interval_of_zero_limits_nothing() -> None:
    handler = logging.StreamHandler(io.StringIO())
    assert limit_repeats([handler], 0) is None
    assert handler.filters == []
