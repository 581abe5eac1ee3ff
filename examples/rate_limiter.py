"""A token-bucket rate limiter, sync and async, with stubbed methods."""

import asyncio
import time
from collections.abc import Callable


class ModelOnexError(Exception):
    """The error every service of this code base raises."""


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens per second."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.tokens = capacity
        self.updated = clock()

    def _refill(self) -> None:
        """Add the tokens earned since the last refill, up to the capacity."""
        raise NotImplementedError()

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if available; never blocks."""
        ...

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until ``tokens`` can be taken, then take them."""
        # IMPLEMENTATION REQUIRED: sleep for the missing tokens' refill time
        raise NotImplementedError


def per_second(limit: int) -> TokenBucket:
    """A bucket allowing ``limit`` calls per second with bursts of the same size."""
    ...
