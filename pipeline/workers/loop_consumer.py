"""A Faust consumer whose Kafka client runs on the worker's own event loop, not in a thread.

Faust's aiokafka driver (faust-streaming 0.15.3) runs the aiokafka consumer in a thread with
an event loop of its own (``AIOKafkaConsumerThread``) and reaches it through a method queue:
every ``getmany`` is a call into that loop and a result posted back, and the thread competes
with the stage's work for the interpreter lock. Measured side by side on one request at a
time, the hand-off costs 0.1 to 0.5 ms a topic hop.

``LoopConsumerThread`` is the same Faust service with the thread taken out: it is served as a
task of the running loop, and ``call_thread`` awaits the call directly. Rebalance callbacks
still go through the consumer's method queue, which works as well within one loop.

What the thread bought is a consumer that keeps heartbeating while the loop is blocked. A
stage blocks the loop for milliseconds a record; the work on a large source, which takes
seconds, runs in a thread instead (``pipeline.processors.offload``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from mode import Service
from mode.utils.futures import maybe_async

from pipeline.workers.reconnect import use_reconnect_backoff


class LoopWorker:
    """Stands in for mode's ``WorkerThread``: serves the service as a task of its loop."""

    def __init__(self, service: LoopConsumerThread) -> None:
        self.service = service
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = self.service.parent_loop.create_task(self.service._serve())

    def stop(self) -> None:
        """Nothing to join: ``LoopConsumerThread.stop`` awaits the task."""

    def is_alive(self) -> bool:
        return self.task is not None and not self.task.done()


class LoopConsumerThread(AIOKafkaConsumerThread):  # type: ignore[misc]
    """Faust's aiokafka consumer service, run on the worker's loop (see the module docstring)."""

    Worker = LoopWorker  # type: ignore[assignment]  # duck-typed: start, stop, is_alive

    def __init__(self, consumer: Any, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(consumer, loop=loop, thread_loop=loop, **kwargs)

    def _create_consumer(self, loop: asyncio.AbstractEventLoop) -> Any:
        consumer = super()._create_consumer(loop)
        use_reconnect_backoff(consumer._client, getattr(self.app, "reconnect_policy", None))
        return consumer

    async def call_thread(
        self, fun: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        return await maybe_async(fun(*args, **kwargs))

    async def stop(self) -> None:
        if not self._started.is_set():
            return
        await Service.stop(self)
        worker = self._thread
        if isinstance(worker, LoopWorker) and worker.task is not None:
            await worker.task

    async def _keepalive2(self) -> None:
        # mode's watch over its thread: on one loop there is no thread to lose, and a long
        # record (which blocks the loop) would only set it off with a false alarm.
        return None

    async def _gather_remaining_tasks(self) -> None:
        # mode cancels every task left on the thread's loop; here that loop is the worker's.
        return None


class LoopConsumer(AIOKafkaConsumer):  # type: ignore[misc]
    """Faust's aiokafka consumer with :class:`LoopConsumerThread` in place of its thread."""

    def _new_consumer_thread(self) -> LoopConsumerThread:
        return LoopConsumerThread(self, loop=self.loop, beacon=self.beacon)
