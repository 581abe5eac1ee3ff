"""Retries, a circuit breaker and a concurrency limit for calls to a remote model.

* ``RetryPolicy`` retries transient failures (``TransientCallError``: 408/409/429/5xx,
  timeouts, connection errors) with exponential backoff and full jitter, through tenacity.
  When the server says how long to wait (``Retry-After``: seconds or an HTTP date; or
  ``retry-after-ms``) that wait is used instead, capped at ``max_wait``.
* ``CircuitBreaker`` (one per endpoint, see ``CircuitBreakers``) opens after ``threshold``
  consecutive failures, fails fast while open, lets one trial call through after
  ``reset_after`` seconds (half-open) and closes on a success.
  A call that finds the circuit open waits for it (``CircuitBreaker.hold``) within a budget of
  seconds (``HoldBudget``) instead of failing: a brief outage holds the work back, and it goes
  on when the endpoint is back.
* The concurrency limit is a plain ``asyncio.Semaphore`` owned by the caller.

The clock and the sleep are injectable so tests need not wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from pipeline.stages.generate.base import GenerateError

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

CIRCUIT_OPEN = "LLM_CIRCUIT_OPEN"


class TransientCallError(Exception):
    """A failure worth retrying. ``retry_after`` is the server's requested wait, if any."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


# ---------------------------------------------------------------- Retry-After


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], datetime] | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = _number(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    return number


# ---------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` calls at most (the first included); waits grow from ``initial_wait``."""

    attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 30.0
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def wait_for(self, state: RetryCallState) -> float:
        """Retry-After when the server sent one, else exponential backoff with full jitter."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, TransientCallError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        ceiling = min(self.max_wait, self.initial_wait * 2 ** (state.attempt_number - 1))
        return self.rng.uniform(0, ceiling)

    async def call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        describe: str = "call",
    ) -> T:
        """Run ``operation``, retrying ``TransientCallError``; the last one is re-raised."""

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait = state.next_action.sleep if state.next_action is not None else 0.0
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                describe,
                state.attempt_number,
                self.attempts,
                error,
                wait,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self.wait_for,
            retry=retry_if_exception_type(TransientCallError),
            sleep=self.sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                result = await operation()
            if not attempt.retry_state.outcome or not attempt.retry_state.outcome.failed:
                return result
        raise AssertionError("tenacity stopped without an outcome")  # pragma: no cover


# ---------------------------------------------------------------- circuit breaker


HOLD_POLL = 0.05
"""Seconds between looks at a circuit whose trial call is in flight."""
HOLD_STEP = 1.0
"""The longest wait between looks at an open circuit (a call that was in flight when it opened
may close it early)."""


@dataclass
class HoldBudget:
    """Seconds one call may still spend waiting for an open circuit."""

    left: float


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Consecutive-failure breaker for one endpoint. Not thread-safe: one event loop."""

    def __init__(
        self,
        endpoint: str,
        *,
        threshold: int = 5,
        reset_after: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise GenerateError("the breaker threshold must be at least 1", code="BAD_CONFIG")
        self.endpoint = endpoint
        self.threshold = threshold
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def __repr__(self) -> str:
        state = self.state.value
        return f"CircuitBreaker({self.endpoint!r}, state={state}, failures={self.failures})"

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self.clock() - self._opened_at >= self.reset_after:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def retry_in(self) -> float:
        """Seconds until a trial call is let through (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_after - self.clock())

    def acquire(self) -> bool:
        """Permission for one call; raises ``LLM_CIRCUIT_OPEN`` while open.

        Returns True for the half-open trial call: it must end with ``success()`` or
        ``failure()`` (or ``release()`` when it ended without a verdict, e.g. cancelled).
        """
        state = self.state
        if state is CircuitState.CLOSED:
            return False
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            logger.info("circuit for %s is half-open: sending a trial call", self.endpoint)
            return True
        raise self._open_error(probing=state is CircuitState.HALF_OPEN)

    async def hold(self, budget: HoldBudget, sleep: Sleep) -> None:
        """Wait while the circuit is open or its trial call is in flight, within ``budget``;
        then ``acquire`` lets the call through (or, the budget spent, fails it fast)."""
        while budget.left > 0:
            state = self.state
            if state is CircuitState.CLOSED or (
                state is CircuitState.HALF_OPEN and not self._probing
            ):
                return
            step = self.retry_in() if state is CircuitState.OPEN else HOLD_POLL
            step = min(budget.left, max(step, HOLD_POLL), HOLD_STEP)
            await sleep(step)
            budget.left -= step

    def release(self, probe: bool) -> None:
        if probe:
            self._probing = False

    def success(self, probe: bool = False) -> None:
        if self._opened_at is not None:
            logger.info("circuit for %s is closed again", self.endpoint)
        self.failures = 0
        self._opened_at = None
        self.release(probe)

    def failure(self, probe: bool = False) -> None:
        self.failures += 1
        self.release(probe)
        if probe or (self._opened_at is None and self.failures >= self.threshold):
            self._opened_at = self.clock()
            logger.warning(
                "circuit for %s is open after %d consecutive failure(s); next trial in %.1f s",
                self.endpoint,
                self.failures,
                self.reset_after,
            )

    def _open_error(self, *, probing: bool) -> GenerateError:
        wait = self.retry_in()
        when = "a trial call is in flight" if probing else f"the next trial call is in {wait:.1f} s"
        return GenerateError(
            f"the model endpoint {self.endpoint} is failing: the circuit is open after "
            f"{self.failures} consecutive failure(s) and calls fail fast; {when}",
            code=CIRCUIT_OPEN,
            endpoint=self.endpoint,
            retry_in_seconds=round(wait, 3),
            consecutive_failures=self.failures,
        )


class CircuitBreakers:
    """One breaker per endpoint, created on first use with the same settings."""

    def __init__(
        self, *, threshold: int = 5, reset_after: float = 30.0, clock: Clock = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def for_endpoint(self, endpoint: str) -> CircuitBreaker:
        key = endpoint.rstrip("/")
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(
                key, threshold=self.threshold, reset_after=self.reset_after, clock=self.clock
            )
            self._breakers[key] = breaker
        return breaker
