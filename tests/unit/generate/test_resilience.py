"""Retry-After, the retry policy and the circuit breaker, with a fake clock."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from pipeline.stages.generate import GenerateError
from pipeline.stages.generate.resilience import (
    CircuitBreaker,
    CircuitBreakers,
    CircuitState,
    RetryPolicy,
    TransientCallError,
    parse_retry_after,
)

NOW = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Waits:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": " 3 "}, 3.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=42), usegmt=True)}, 42.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=42), usegmt=True)}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=lambda: NOW) == expected


# ---------------------------------------------------------------- retry policy


async def test_transient_errors_are_retried_until_success() -> None:
    waits = Waits()
    policy = RetryPolicy(attempts=4, initial_wait=1.0, max_wait=8.0, sleep=waits)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientCallError("HTTP 503", status=503)
        return "ok"

    assert await policy.call(flaky) == "ok"
    assert calls == 3
    assert len(waits.waits) == 2
    assert 0 <= waits.waits[0] <= 1.0 and 0 <= waits.waits[1] <= 2.0


async def test_the_last_transient_error_is_reraised() -> None:
    policy = RetryPolicy(attempts=3, initial_wait=0.0, sleep=Waits())
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise TransientCallError(f"refused {calls}")

    with pytest.raises(TransientCallError, match="refused 3"):
        await policy.call(down)
    assert calls == 3


async def test_other_errors_are_not_retried() -> None:
    policy = RetryPolicy(attempts=5, sleep=Waits())
    calls = 0

    async def rejected() -> None:
        nonlocal calls
        calls += 1
        raise GenerateError("no", code="LLM_REQUEST_REJECTED")

    with pytest.raises(GenerateError):
        await policy.call(rejected)
    assert calls == 1


async def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    waits = Waits()
    policy = RetryPolicy(attempts=3, initial_wait=0.1, max_wait=5.0, sleep=waits)
    errors = iter(
        [TransientCallError("429", retry_after=3.0), TransientCallError("429", retry_after=60)]
    )

    async def limited() -> str:
        error = next(errors, None)
        if error is not None:
            raise error
        return "ok"

    assert await policy.call(limited) == "ok"
    assert waits.waits == [3.0, 5.0]


def test_backoff_is_jittered_under_an_exponential_ceiling() -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=4.0, rng=random.Random(7))

    class State:
        outcome = None

        def __init__(self, attempt: int) -> None:
            self.attempt_number = attempt

    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        samples = [policy.wait_for(State(attempt)) for _ in range(200)]  # type: ignore[arg-type]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # full jitter uses the whole range


# ---------------------------------------------------------------- circuit breaker


def test_the_breaker_opens_after_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("http://llm/v1", threshold=3, reset_after=10, clock=clock)
    for _ in range(2):
        assert breaker.acquire() is False
        breaker.failure()
    breaker.acquire()
    breaker.success()  # a success resets the count
    assert breaker.failures == 0
    for _ in range(3):
        breaker.acquire()
        breaker.failure()
    assert breaker.state is CircuitState.OPEN
    clock.now = 4
    with pytest.raises(GenerateError) as caught:
        breaker.acquire()
    assert caught.value.code == "LLM_CIRCUIT_OPEN"
    assert "next trial call is in 6.0 s" in caught.value.message
    assert caught.value.details["retry_in_seconds"] == 6.0
    assert "http://llm/v1" in repr(breaker)


def test_half_open_lets_one_trial_call_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("e", threshold=1, reset_after=10, clock=clock)
    breaker.acquire()
    breaker.failure()
    clock.now = 10
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.acquire() is True
    with pytest.raises(GenerateError, match="trial call is in flight"):
        breaker.acquire()
    breaker.success(probe=True)
    assert breaker.state.value == "closed"
    assert breaker.acquire() is False


def test_a_failed_trial_call_reopens_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("e", threshold=2, reset_after=10, clock=clock)
    for _ in range(2):
        breaker.acquire()
        breaker.failure()
    clock.now = 12
    probe = breaker.acquire()
    breaker.failure(probe)
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in() == 10
    clock.now = 21.9
    with pytest.raises(GenerateError):
        breaker.acquire()
    clock.now = 22
    assert breaker.acquire() is True


def test_a_trial_call_without_verdict_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("e", threshold=1, reset_after=1, clock=clock)
    breaker.acquire()
    breaker.failure()
    clock.now = 1
    probe = breaker.acquire()
    breaker.release(probe)  # e.g. cancelled
    assert breaker.acquire() is True


def test_breakers_are_per_endpoint() -> None:
    breakers = CircuitBreakers(threshold=1, reset_after=5)
    a = breakers.for_endpoint("http://a/v1/")
    assert breakers.for_endpoint("http://a/v1") is a
    b = breakers.for_endpoint("http://b/v1")
    a.acquire()
    a.failure()
    assert a.state is CircuitState.OPEN
    assert b.state is CircuitState.CLOSED


async def test_a_cancelled_trial_call_does_not_block_the_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("e", threshold=1, reset_after=1, clock=clock)
    breaker.acquire()
    breaker.failure()
    clock.now = 2

    async def call() -> None:
        probe = breaker.acquire()
        try:
            await asyncio.sleep(10)
        except BaseException:
            breaker.release(probe)
            raise

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.acquire() is True
