"""The Faust app of one stage: its own consumer group, a thin agent around StageRunner."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, cast

import faust
import mode.loop
from faust.exceptions import AlreadyConfiguredWarning

from pipeline.broker.admin import ensure_topics
from pipeline.broker.connection import check_security, ssl_context_for
from pipeline.broker.status import client_id_for
from pipeline.catalogue import (
    MAX_MESSAGE_BYTES,
    STAGE_EXTRA_INPUTS,
    STAGE_INPUTS,
    STAGE_OUTPUTS,
    STAGE_ROUTED_OUTPUTS,
    STAGES,
    topic_name,
)
from pipeline.processors import build_processor
from pipeline.settings import Settings
from pipeline.workers.delivery import use_pipeline_consumer
from pipeline.workers.health import Readiness, serve
from pipeline.workers.inflight import InFlight, OrderedAcks
from pipeline.workers.producer import use_durable_producer
from pipeline.workers.runner import StageRunner
from pipeline.workers.telemetry import observe

log = logging.getLogger(__name__)

EXIT_STOP_TIMEOUT = 3
"""A worker's exit status when it did not stop within ``Settings.stop_deadline``."""


def faust_options(settings: Settings) -> dict[str, Any]:
    """Broker, security and tuning options shared by every Faust app of the project."""
    brokers = [f"kafka://{host.strip()}" for host in settings.effective_bootstrap.split(",")]
    options: dict[str, Any] = {
        "broker": brokers,
        "store": "memory://",
        "web_enabled": False,
        # run_worker resolves the cluster's replication before building the app.
        "topic_replication_factor": settings.replication_factor or 1,
        "producer_acks": -1,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_linger_ms": 0,  # a hop costs about 2 ms less than with 1 ms (measured)
        "producer_max_request_size": MAX_MESSAGE_BYTES,
        "consumer_max_fetch_size": MAX_MESSAGE_BYTES,
        "broker_commit_interval": 1.0,
        # On shutdown, wait until every message in flight is acked, then commit.
        "stream_wait_empty": True,
        "datadir": str(settings.state_dir / "faust"),
    }
    check_security(settings)
    ssl_context = ssl_context_for(settings)
    if settings.security_protocol.startswith("SASL_"):
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
        options["broker_credentials"] = faust.SASLCredentials(
            username=settings.sasl_username or "",
            password=password,
            mechanism=settings.sasl_mechanism,
            ssl_context=ssl_context,
        )
    elif ssl_context is not None:
        options["broker_credentials"] = faust.SSLCredentials(ssl_context)
    return options


def changelog_configs(settings: Settings) -> dict[str, str]:
    """Configs of the apps' changelog topics (replicas: ``topic_replication_factor``)."""
    if settings.min_insync_replicas is None:
        return {}
    return {"min.insync.replicas": str(settings.min_insync_replicas)}


class DrainingApp(faust.App):
    """A Faust app that, when it stops, first runs its ``drains`` (each bounded by its own
    timeout), while its consumer and agents still run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drains: list[Callable[[], Awaitable[None]]] = []

    async def on_stop(self) -> None:
        for drain in self.drains:
            await drain()
        await super().on_stop()


class BoundedWorker(faust.Worker):
    """A Faust worker that exits within ``stop_deadline`` seconds of being told to stop
    (SIGTERM, SIGINT), whether or not the broker answers: past it, the process exits with
    ``EXIT_STOP_TIMEOUT``; what it had not committed is redelivered to the next owner."""

    def __init__(self, *args: Any, stop_deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_deadline = stop_deadline

    async def on_stop(self) -> None:
        exit_after(self.stop_deadline)
        await super().on_stop()


def exit_after(seconds: float) -> threading.Timer:
    """Exit the process in ``seconds`` unless it has ended by then."""

    def give_up() -> None:
        log.error(
            "the worker did not stop within %g s (CODEGEN_DRAIN_SECONDS and a margin): "
            "exiting now; what it had not committed is redelivered",
            seconds,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(EXIT_STOP_TIMEOUT)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    return timer


def new_app(app_id: str, settings: Settings, **options: Any) -> DrainingApp:
    """A Faust app of the project: shared options (``options`` override them), our consumer."""
    client_id = client_id_for(app_id, socket.gethostname(), os.getpid())
    app = DrainingApp(
        app_id, **{**faust_options(settings), "broker_client_id": client_id, **options}
    )
    use_pipeline_consumer(app)
    use_durable_producer(app)
    return app


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


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


def create_stage_app(stage: str, settings: Settings) -> faust.App:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    prefix = settings.topic_prefix
    app = new_app(f"{prefix}{stage}", settings)
    processor = build_processor(stage, settings)
    runner = StageRunner(processor, settings)
    inputs = [STAGE_INPUTS[stage], *STAGE_EXTRA_INPUTS.get(stage, ())]
    source = app.topic(
        *(topic_name(key, prefix) for key in inputs),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    outputs = {STAGE_OUTPUTS[stage], "failed", "metrics", *STAGE_ROUTED_OUTPUTS.get(stage, ())}
    sinks = {key: raw_topic(app, topic_name(key, prefix)) for key in outputs}

    def crash(error: BaseException) -> None:
        app.loop.create_task(app.crash(error))

    in_flight = InFlight(settings.stage_concurrency(stage), on_error=crash)

    acks = OrderedAcks()

    async def handle(event: faust.EventT[bytes], done: Callable[[], None]) -> None:
        message = event.message
        origin = f"{message.topic}[{message.partition}]@{message.offset}"
        started = time.perf_counter()
        outgoing_records = await runner.handle(event.key, event.value, origin)
        outcome_topic = outgoing_records[0].topic if outgoing_records else "redelivered"
        observe(stage, outcome_topic, time.perf_counter() - started)
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


def create_worker_app(name: str, settings: Settings) -> faust.App:
    if name == "metrics":
        from pipeline.workers.metrics_app import create_metrics_app

        return create_metrics_app(settings)
    if name == "executor":
        from pipeline.workers.metrics_app import create_executor_app

        return create_executor_app(settings)
    return create_stage_app(name, settings)


def use_event_loop(kind: str) -> str:
    """Make the loops this process creates from now on ``kind`` ones; return the kind in use
    (``asyncio`` when uvloop is asked for but not installed, as on Windows)."""
    if kind == "uvloop":
        try:
            mode.loop.use("uvloop")
        except ImportError:
            log.warning("uvloop is not installed; the worker runs on asyncio's own event loop")
            return "asyncio"
    return kind


def run_worker(name: str, settings: Settings, *, loglevel: str | None = None) -> None:
    """Run one worker process (a stage, the metrics reducer or the executor) until SIGTERM."""
    use_event_loop(settings.event_loop)
    report = asyncio.run(ensure_topics(settings))
    replication = report.replication
    if report.under_replicated:
        log.warning(
            "%d topic(s) have fewer replicas than %d, e.g. %s: see `codegen topics create`",
            len(report.under_replicated),
            replication.factor,
            report.under_replicated[0].topic,
        )
    # Faust's changelog topics get the replication of the catalogue's.
    settings = settings.model_copy(
        update={
            "replication_factor": replication.factor,
            "min_insync_replicas": replication.min_insync,
        }
    )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = create_worker_app(name, settings)
    if settings.prometheus_port:
        readiness = Readiness(settings)
        readiness.watch(app)
        serve(settings.prometheus_host, settings.prometheus_port, readiness)
    worker = BoundedWorker(
        app,
        loglevel=loglevel or settings.worker_log_level,
        quiet=True,
        stop_deadline=settings.stop_deadline,
    )
    # The spinner litters logs with cursor escapes and turns the root logger to DEBUG, which
    # costs every library's debug records on the hot path.
    worker.spinner = None
    worker.execute_from_commandline()
