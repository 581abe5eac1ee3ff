"""A bounded set of tasks in flight, drained on shutdown; their records acked in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Hashable
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


class OrderedAcks:
    """Acks the records of each partition in offset order, whatever order they finish in.

    Faust commits the end of the first run of consecutive acked offsets of a partition but
    does not check that the run starts at the committed offset (faust-streaming issue 606):
    with records in flight, one acked while an earlier one is still running could be
    committed past it, and the earlier one lost on a crash. Here a finished record waits
    until every record before it on its partition has finished, then they are acked in order.
    """

    def __init__(self) -> None:
        self._waiting: dict[Hashable, deque[_Pending]] = {}

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    def track(self, partition: Hashable, ack: Callable[[], object]) -> Callable[[], None]:
        """Register the next record of ``partition``; call the returned ``done`` when it is
        finished (its output produced): ``ack`` runs once every earlier record is done too."""
        pending = _Pending(ack)
        self._waiting.setdefault(partition, deque()).append(pending)

        def done() -> None:
            pending.finished = True
            self._release(partition)

        return done

    def forget(self) -> int:
        """Drop every record not acked yet (they stay uncommitted); return how many."""
        count = len(self)
        self._waiting.clear()
        return count

    def _release(self, partition: Hashable) -> None:
        queue = self._waiting.get(partition)
        while queue and queue[0].finished:
            queue.popleft().ack()
        if not queue:
            self._waiting.pop(partition, None)


class _Pending:
    __slots__ = ("ack", "finished")

    def __init__(self, ack: Callable[[], object]) -> None:
        self.ack = ack
        self.finished = False
