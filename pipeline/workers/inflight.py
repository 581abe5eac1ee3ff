"""A bounded set of tasks in flight, drained on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class InFlight:
    """Runs up to ``limit`` coroutines at once; ``start`` waits for a free slot."""

    def __init__(self, limit: int, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.limit = limit
        self.on_error = on_error
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def start(self, work: Coroutine[Any, Any, None]) -> None:
        await self._slots.acquire()
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        error = None if task.cancelled() else task.exception()
        if error is not None:
            # Its record stays unacked, so nothing later on its partition can be committed:
            # crash the worker rather than stall it; a restart redelivers the record.
            log.error("a record's processing crashed", exc_info=error)
            if self.on_error is not None:
                self.on_error(error)

    async def drain(self, timeout: float) -> None:
        """Let what is in flight finish (so it is acked and committed), up to ``timeout``."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        with contextlib.suppress(asyncio.CancelledError):
            _, still = await asyncio.shield(asyncio.wait(pending, timeout=timeout))
            for task in still:
                task.cancel()
