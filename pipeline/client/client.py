"""An async client: submit requests, await their terminal records, iterate results."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from pipeline.broker.connection import (
    DURABLE_PRODUCER_OPTIONS,
    ClusterUnavailableError,
    aiokafka_options,
)
from pipeline.broker.probe import probe_async
from pipeline.catalogue import MAX_MESSAGE_BYTES, topic_name
from pipeline.records import FileStored, GenerationRequest, RequestFailed, decode, encode
from pipeline.records.codec import DecodeError
from pipeline.settings import Settings, get_settings

Result = FileStored | RequestFailed


class PipelineClient:
    """Use as ``async with PipelineClient() as client: await client.submit_and_wait(req)``.

    Results are read from the end of the ``stored`` and ``failed`` topics as they were when
    the client started, so start the client before submitting.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._results: dict[str, Result] = {}
        self._arrived = asyncio.Condition()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect within ``CODEGEN_BROKER_TIMEOUT`` seconds, or raise
        :class:`ClusterUnavailableError` saying why (and leave nothing open)."""
        try:
            await asyncio.wait_for(self._start(), self.settings.broker_timeout)
        except Exception as error:
            with contextlib.suppress(Exception):  # the first error is the one to report
                await self.stop()
            if isinstance(error, ClusterUnavailableError):
                raise
            raise ClusterUnavailableError(await self._diagnose(error)) from error

    async def _start(self) -> None:
        options = aiokafka_options(self.settings)
        timeout_ms = int(self.settings.broker_timeout * 1000)
        self._producer = AIOKafkaProducer(
            **options,
            **DURABLE_PRODUCER_OPTIONS,
            linger_ms=0,
            max_request_size=MAX_MESSAGE_BYTES,
            request_timeout_ms=timeout_ms,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **options, enable_auto_commit=False, request_timeout_ms=timeout_ms
        )
        await self._consumer.start()
        partitions: list[TopicPartition] = []
        for key in ("stored", "failed"):
            name = topic_name(key, self.settings.topic_prefix)
            for partition in await self._partitions(name):
                partitions.append(TopicPartition(name, partition))
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the positions now, before anything is submitted
            await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        consumer, producer = self._consumer, self._producer
        self._consumer = self._producer = None
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if producer is not None:
            await asyncio.wait_for(producer.stop(), self.settings.broker_timeout)

    async def submit(self, request: GenerationRequest) -> str:
        """Publish ``request``; return its id once every in-sync replica has it. Raise
        :class:`ClusterUnavailableError` when the cluster does not take it within
        ``CODEGEN_BROKER_TIMEOUT`` seconds (the producer retries until then: a leader
        election after a broker loss takes seconds)."""
        assert self._producer is not None, "start the client first"
        topic = topic_name("requests", self.settings.topic_prefix)
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    topic, key=request.request_id.encode(), value=encode(request)
                ),
                self.settings.broker_timeout + 5,
            )
        except (KafkaError, TimeoutError) as error:
            raise ClusterUnavailableError(
                f"the cluster at {self.settings.effective_bootstrap} did not take request "
                f"{request.request_id} on {topic} within {self.settings.broker_timeout:g} s: "
                f"{await self._diagnose(error)}"
            ) from error
        return request.request_id

    async def _diagnose(self, error: BaseException) -> str:
        """What the probe finds wrong with the cluster, else what the client was told."""
        found = await probe_async(self.settings, timeout=min(self.settings.broker_timeout, 5))
        if found.problem is not None:
            return found.problem
        if isinstance(error, TimeoutError):
            return (
                f"the cluster at {self.settings.effective_bootstrap} answers the probe but not "
                f"the client within {self.settings.broker_timeout:g} s (CODEGEN_BROKER_TIMEOUT)"
            )
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

    async def wait_for(self, request_id: str, *, timeout: float = 60.0) -> Result:
        """The terminal record (stored or failed) of ``request_id``."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: request_id in self._results), timeout
            )
            return self._results[request_id]

    async def submit_and_wait(self, request: GenerationRequest, *, timeout: float = 60.0) -> Result:
        await self.submit(request)
        return await self.wait_for(request.request_id, timeout=timeout)

    async def results(
        self, request_ids: Iterable[str], *, timeout: float = 300.0
    ) -> AsyncIterator[Result]:
        """Yield the terminal record of each request as it arrives."""
        pending = set(request_ids)
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            async with self._arrived:
                remaining = deadline - asyncio.get_running_loop().time()
                await asyncio.wait_for(
                    self._arrived.wait_for(lambda: bool(pending & self._results.keys())),
                    max(remaining, 0.001),
                )
                ready = pending & self._results.keys()
            for request_id in sorted(ready):
                pending.discard(request_id)
                yield self._results[request_id]

    async def _partitions(self, topic: str) -> list[int]:
        assert self._consumer is not None
        for _ in range(50):
            partitions = self._consumer.partitions_for_topic(topic)
            if partitions:
                return sorted(partitions)
            await self._consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise ClusterUnavailableError(
            f"topic {topic} does not exist on the cluster at {self.settings.effective_bootstrap};"
            " run `codegen topics create` first"
        )

    async def _read(self) -> None:
        assert self._consumer is not None
        stored = topic_name("stored", self.settings.topic_prefix)
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            arrived = False
            for tp, messages in batches.items():
                model: type[Result] = FileStored if tp.topic == stored else RequestFailed
                for message in messages:
                    with contextlib.suppress(DecodeError):
                        result = decode(model, message.value)
                        # The first terminal record wins; redelivered duplicates are ignored.
                        self._results.setdefault(result.request_id, result)
                        arrived = True
            if arrived:
                async with self._arrived:
                    self._arrived.notify_all()
