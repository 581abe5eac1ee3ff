"""The Faust app of one stage: its own consumer group, a thin agent around StageRunner."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any, cast

import faust
from faust.exceptions import AlreadyConfiguredWarning

from pipeline.catalogue import StageSpec, stage_spec, topic_name
from pipeline.processors import Processor, build_processor
from pipeline.processors.store import StoreProcessor
from pipeline.settings import Settings, StoreLedger
from pipeline.workers.faust_app import new_app, raw_topic
from pipeline.workers.inflight import InFlight, OrderedAcks
from pipeline.workers.runner import StageRunner
from pipeline.workers.store_ledger import kafka_ledger
from pipeline.workers.telemetry import observe

log = logging.getLogger(__name__)


def acknowledged(callback: Callable[[], None]) -> Callable[[asyncio.Future[Any]], None]:
    """A done-callback for a send's future that runs ``callback`` if the broker took it."""

    def on_done(sent: asyncio.Future[Any]) -> None:
        if sent.cancelled() or sent.exception() is not None:
            return
        try:
            callback()
        except Exception:  # the record is out; the worst case is one more delivery later
            log.exception("could not record a delivery")

    return on_done


def _processor(app: faust.App, spec: StageSpec, settings: Settings) -> Processor[Any, Any]:
    """The stage's processor; the store's remembers requests in Kafka when so configured."""
    if spec.name == "store" and settings.store_ledger is StoreLedger.KAFKA:
        return StoreProcessor(settings, ledger=kafka_ledger(app, settings))
    return build_processor(spec, settings)


def create_stage_app(stage: str | StageSpec, settings: Settings) -> faust.App:
    """The app of one stage, wired from its spec: its inputs, its outputs, its processor."""
    spec = stage if isinstance(stage, StageSpec) else stage_spec(stage)
    stage = spec.name
    prefix = settings.topic_prefix
    app = new_app(f"{prefix}{stage}", settings)
    processor = _processor(app, spec, settings)
    runner = StageRunner(processor, settings)
    source = app.topic(
        *(topic_name(key, prefix) for key in spec.inputs),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    sinks = {key: raw_topic(app, topic_name(key, prefix)) for key in spec.outputs}

    def crash(error: BaseException) -> None:
        app.loop.create_task(app.crash(error))

    in_flight = InFlight(spec.concurrency(settings), on_error=crash)

    acks = OrderedAcks()

    async def handle(event: faust.EventT[bytes], done: Callable[[], None]) -> None:
        message = event.message
        origin = f"{message.topic}[{message.partition}]@{message.offset}"
        started = time.perf_counter()
        outgoing_records = await runner.handle(event.key, event.value, origin)
        outcome_topic = outgoing_records[0].topic if outgoing_records else "redelivered"
        observe(spec, outcome_topic, time.perf_counter() - started)
        for outgoing in outgoing_records:
            sent = await sinks[outgoing.topic].send(key=outgoing.key, value=outgoing.value)
            if outgoing.on_delivered is not None:
                cast(asyncio.Future[Any], sent).add_done_callback(
                    acknowledged(outgoing.on_delivered)
                )
        # Acked only once its output is in the producer, and after every earlier record of
        # its partition (see OrderedAcks); the consumer flushes the producer, then commits.
        done()

    stopping = asyncio.Event()

    async def process(stream: faust.StreamT[bytes]) -> None:
        try:
            manual_acks: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]
            async for event in manual_acks.events():
                if not stopping.is_set():  # else left unacked: redelivered to the next owner
                    done = acks.track(event.message.tp, event.ack)
                    await in_flight.start(handle(event, done))
                del event  # no reference kept: an unfinished record can be handed back
        finally:
            await drain()

    async def drain() -> None:
        """Take no more records; let those in flight finish for up to CODEGEN_DRAIN_SECONDS;
        hand back the rest: never acked, they stay uncommitted and are redelivered. Faust's
        own wait for every record to be acked (``stream_wait_empty``, unbounded) is turned
        off once this drain is over; it still commits what was acked."""
        stopping.set()
        await in_flight.drain(settings.drain_seconds)
        unfinished = acks.forget()
        with warnings.catch_warnings():  # "reconfiguring late": read only when stopping
            warnings.simplefilter("ignore", AlreadyConfiguredWarning)
            app.conf.stream_wait_empty = False
        if unfinished:
            log.warning(
                "%s: %d record(s) not done after %g s (CODEGEN_DRAIN_SECONDS, or behind one "
                "that is not) are left uncommitted and will be redelivered",
                stage,
                unfinished,
                settings.drain_seconds,
            )

    app.drains.append(drain)
    app.agent(source, name=f"{prefix}{stage}.agent")(process)

    async def close_processor(sender: Any, *args: Any, signal: Any = None, **kw: Any) -> None:
        await processor.aclose()

    app.on_before_shutdown.connect(close_processor)  # type: ignore[arg-type]

    return app
