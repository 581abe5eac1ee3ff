"""Where each submitted request is, from the metrics events the stages publish for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, Field

from pipeline.broker.connection import ClusterUnavailableError, aiokafka_options
from pipeline.catalogue import STAGES, topic_name
from pipeline.records import DecodeError, MetricsEvent, Outcome, decode
from pipeline.settings import Settings


class RequestProgress(BaseModel):
    stage: str = Field(default=STAGES[0], description="The stage it waits for or is in.")
    attempt: int = 1
    durations_ms: dict[str, float] = Field(default_factory=dict)
    """Time each stage spent on it, summed over attempts."""

    def follow(self, event: MetricsEvent) -> None:
        self.durations_ms[event.stage] = self.durations_ms.get(event.stage, 0.0) + (
            event.duration_ms
        )
        if event.outcome is Outcome.RETRY:
            self.stage, self.attempt = "generate", event.attempt + 1
        elif event.outcome is Outcome.OK and event.stage in STAGES[:-1]:
            self.stage, self.attempt = STAGES[STAGES.index(event.stage) + 1], event.attempt
        else:
            self.stage, self.attempt = event.stage, event.attempt

    def where(self) -> str:
        return self.stage if self.attempt == 1 else f"{self.stage} (attempt {self.attempt})"


class ProgressWatcher:
    """Reads the metrics topic from its end at ``start`` (before the requests are sent)."""

    def __init__(self, settings: Settings, request_ids: Iterable[str]) -> None:
        self.settings = settings
        self.progress = {request_id: RequestProgress() for request_id in request_ids}
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect within ``CODEGEN_BROKER_TIMEOUT`` seconds, or raise
        :class:`ClusterUnavailableError`."""
        try:
            await asyncio.wait_for(self._start(), self.settings.broker_timeout)
        except Exception as error:
            with contextlib.suppress(Exception):
                await self.stop()
            raise ClusterUnavailableError(
                f"cannot read the metrics topic from {self.settings.effective_bootstrap}: "
                f"{error or type(error).__name__}"
            ) from error

    async def _start(self) -> None:
        topic = topic_name("metrics", self.settings.topic_prefix)
        self._consumer = AIOKafkaConsumer(
            **aiokafka_options(self.settings), enable_auto_commit=False
        )
        await self._consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for p in sorted(self._consumer.partitions_for_topic(topic) or {0})
        ]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read())

    async def settle(self, last_stages: dict[str, str], timeout: float = 3.0) -> None:
        """Wait (up to ``timeout``) for each request's event from the stage that ended it: it
        may come just after the terminal record."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline and any(
            stage not in self.progress[request_id].durations_ms
            for request_id, stage in last_stages.items()
        ):
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._consumer is not None:
            await self._consumer.stop()

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    with contextlib.suppress(DecodeError):
                        event = decode(MetricsEvent, message.value)
                        if event.request_id in self.progress:
                            self.progress[event.request_id].follow(event)
