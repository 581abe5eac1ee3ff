"""A worker process: builds the app it is named for, runs it until SIGTERM, and exits within
its stop deadline."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

import faust
import mode.loop

from pipeline.broker.admin import ensure_topics
from pipeline.settings import Settings
from pipeline.workers.health import Readiness, serve
from pipeline.workers.metrics_app import create_executor_app, create_metrics_app
from pipeline.workers.repeats import limit_repeats
from pipeline.workers.stage_app import create_stage_app

log = logging.getLogger(__name__)

EXIT_STOP_TIMEOUT = 3
"""A worker's exit status when it did not stop within ``Settings.stop_deadline``."""


class BoundedWorker(faust.Worker):
    """A Faust worker that exits within ``stop_deadline`` seconds of being told to stop
    (SIGTERM, SIGINT), whether or not the broker answers: past it, the process exits with
    ``EXIT_STOP_TIMEOUT``; what it had not committed is redelivered to the next owner."""

    def __init__(
        self, *args: Any, stop_deadline: float, log_repeat_seconds: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stop_deadline = stop_deadline
        self.log_repeat_seconds = log_repeat_seconds

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        limit_repeats(logger.handlers, self.log_repeat_seconds)

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


def create_worker_app(name: str, settings: Settings) -> faust.App:
    if name == "metrics":
        return create_metrics_app(settings)
    if name == "executor":
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
        log_repeat_seconds=settings.log_repeat_seconds,
    )
    # The spinner litters logs with cursor escapes and turns the root logger to DEBUG, which
    # costs every library's debug records on the hot path.
    worker.spinner = None
    worker.execute_from_commandline()
