"""The metrics reducer and the intent executor, each a Faust app of its own.

The reducer folds metrics events into tumbling windowed tables (hourly, daily, weekly) with
changelog-backed recovery. Windows close by event time: the watermark (the latest event time
seen) and the set of open windows live in a table too, so a restarted reducer neither loses
counts nor reopens closed windows. Faust's own ``on_window_close`` is not used: it fires from a
wall-clock timer and hands over the raw value (faust-streaming issue 250).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import faust

from pipeline.catalogue import topic_name
from pipeline.metrics import MetricsConfig, MetricsReducer, WindowKey, WindowKind, WindowState
from pipeline.records import (
    DecodeError,
    Intent,
    MetricsEvent,
    RequestFailed,
    decode,
    encode,
    utcnow,
)
from pipeline.settings import Settings
from pipeline.stages.store import ArtifactStore
from pipeline.workers.executor import IntentExecutor, UnknownIntentError, by_priority
from pipeline.workers.faust_app import changelog_configs, new_app, raw_topic

log = logging.getLogger(__name__)

WINDOW_SECONDS = {WindowKind.HOURLY: 3600, WindowKind.DAILY: 86_400, WindowKind.WEEKLY: 604_800}
TABLE_KEY = "all"
META_KEY = "reducer"


def metrics_config(settings: Settings) -> MetricsConfig:
    return MetricsConfig(
        max_failure_rate=settings.alert_max_failure_rate,
        min_requests=settings.alert_min_requests,
        max_p95_latency_ms=settings.alert_max_p95_latency_ms,
        grace_seconds=settings.metrics_grace_seconds,
    )


class WindowTables:
    """The windowed tables, addressed by our window keys.

    Each table is a Faust tumbling window whose timestamp handler returns the start of the
    window being read or written, so a table window holds exactly one of our windows (weekly
    windows start on Monday, Faust's on epoch multiples: the mapping is still one to one).
    """

    def __init__(self, app: faust.App, prefix: str, topic_configs: dict[str, str]) -> None:
        self._focus = 0.0
        self.tables = {
            kind: app.Table(
                f"{prefix}metrics-{kind.value}",
                default=dict,
                partitions=1,
                extra_topic_configs=topic_configs,
            )
            .tumbling(seconds, expires=seconds * 5)
            .relative_to(self._timestamp)  # type: ignore[attr-defined]
            for kind, seconds in WINDOW_SECONDS.items()
        }

    def _timestamp(self, event: Any = None) -> float:
        return self._focus

    def get(self, key: WindowKey) -> tuple[WindowState | None, int]:
        """The window's state and the offset of the last event folded into it."""
        self._focus = float(key.start)
        # value(), not current(): current() reads the window of the Kafka message timestamp
        # and ignores relative_to().
        value = self.tables[WindowKind(key.kind)][TABLE_KEY].value()
        if not value:
            return None, -1
        return WindowState.from_dict(value["state"]), int(value["offset"])

    def put(self, key: WindowKey, state: WindowState, offset: int) -> None:
        self._focus = float(key.start)
        self.tables[WindowKind(key.kind)][TABLE_KEY] = {"state": state.to_dict(), "offset": offset}


def create_metrics_app(settings: Settings) -> faust.App:
    prefix = settings.topic_prefix
    app = new_app(
        f"{prefix}metrics",
        settings,
        web_enabled=True,
        web_port=settings.metrics_web_port,
        web_bind="127.0.0.1",
    )
    source = raw_topic(app, topic_name("metrics", prefix))
    intents_topic = raw_topic(app, topic_name("intents", prefix))
    failed_topic = raw_topic(app, topic_name("failed", prefix))
    changelog = changelog_configs(settings)
    windows = WindowTables(app, prefix, changelog)
    meta = app.Table(
        f"{prefix}metrics-meta", default=None, partitions=1, extra_topic_configs=changelog
    )
    reducer = MetricsReducer(metrics_config(settings))

    async def fold(stream: faust.StreamT[bytes], batch: list[faust.EventT[bytes]]) -> None:
        decoded: list[tuple[MetricsEvent, int]] = []
        for event in batch:
            try:
                decoded.append((decode(MetricsEvent, event.value), event.message.offset))
            except DecodeError as exc:
                await failed_topic.send(key=event.key, value=_dead_letter(event, exc))
        if not decoded:
            return
        # Table writes need a current event: they go to its partition's changelog.
        stream._set_current_event(batch[-1])  # type: ignore[attr-defined]
        state = meta.get(META_KEY) or {"watermark": None, "open": []}
        watermark = _parse_time(state["watermark"])
        keyed = [(event, offset, reducer.keys_for(event)) for event, offset in decoded]
        stored = {key: windows.get(key) for key in {key for _, _, keys in keyed for key in keys}}
        # After a crash, Kafka redelivers events whose offsets were not committed yet although
        # their effect reached the changelog: each window remembers the last offset it folded.
        events = [
            event for event, offset, keys in keyed if offset > min(stored[key][1] for key in keys)
        ]
        last_offset = decoded[-1][1]
        current = {key: window_state for key, (window_state, _) in stored.items()}
        result = reducer.reduce_batch(events, current, watermark)
        for key, window_state in result.updates.items():
            windows.put(key, window_state, last_offset)
        open_keys = {WindowKey.parse(k) for k in state["open"]} | set(result.updates)
        intents: list[Intent] = list(result.intents)
        for key in reducer.closed_windows(open_keys, result.watermark):
            intents += reducer.close(key, windows.get(key)[0])
            open_keys.discard(key)
        meta[META_KEY] = {
            "watermark": result.watermark.isoformat() if result.watermark else None,
            "open": sorted(key.to_str() for key in open_keys),
        }
        for intent in intents:
            await intents_topic.send(key=intent.intent_id.encode(), value=encode(intent))

    async def reduce(stream: faust.StreamT[bytes]) -> None:
        batches = stream.take_events(settings.metrics_batch, within=0.2)  # type: ignore[attr-defined]
        async for batch in batches:
            await _or_exit(fold(stream, batch))

    app.agent(source, name=f"{prefix}metrics.reducer")(reduce)

    @app.page("/windows/")  # type: ignore[untyped-decorator]
    async def open_windows(web: Any, request: Any) -> Any:
        """The open windows' summaries, newest first: what ``codegen metrics`` shows.

        ``?kind=hourly`` limits it to one kind of window.
        """
        state = meta.get(META_KEY) or {"watermark": None, "open": []}
        kind = request.query.get("kind")
        rows = []
        for text in sorted(state["open"], reverse=True):
            key = WindowKey.parse(text)
            if kind and key.kind != kind:
                continue
            window_state, _ = windows.get(key)
            rows.append(
                {
                    "window": key.window().to_dict(),
                    "summary": (window_state or WindowState()).summary(),
                }
            )
        return web.json({"watermark": state["watermark"], "windows": rows})

    return app


def create_executor_app(settings: Settings) -> faust.App:
    prefix = settings.topic_prefix
    app = new_app(f"{prefix}executor", settings)
    source = raw_topic(app, topic_name("intents", prefix))
    sinks = {
        key: raw_topic(app, topic_name(key, prefix))
        for key in ("metrics-recorded", "alerts", "failed")
    }
    executed = app.Table(
        f"{prefix}executed-intents",
        default=None,
        partitions=1,
        extra_topic_configs=changelog_configs(settings),
    )

    async def publish(topic: str, key: bytes, value: bytes) -> None:
        await sinks[topic].send(key=key, value=value)

    executor = IntentExecutor(ArtifactStore(settings.metrics_dir), publish)

    async def run(stream: faust.StreamT[bytes], batch: list[faust.EventT[bytes]]) -> None:
        stream._set_current_event(batch[-1])  # type: ignore[attr-defined]
        intents: list[Intent] = []
        for event in batch:
            try:
                intents.append(decode(Intent, event.value))
            except DecodeError as exc:
                await sinks["failed"].send(key=event.key, value=_dead_letter(event, exc))
        for intent in by_priority(intents):
            if executed.get(intent.intent_id) is not None:
                continue  # a replayed intent: already carried out
            try:
                await executor.execute(intent)
            except UnknownIntentError as exc:
                failure = RequestFailed(
                    request_id=intent.intent_id,
                    submitted_at=intent.created_at,
                    stage="executor",
                    error_code=exc.code,
                    message=exc.message,
                    payload=intent.model_dump_json(),
                    payload_encoding="utf-8",
                )
                await sinks["failed"].send(key=intent.intent_id.encode(), value=encode(failure))
            executed[intent.intent_id] = utcnow().isoformat()

    async def execute(stream: faust.StreamT[bytes]) -> None:
        async for batch in stream.take_events(100, within=0.2):  # type: ignore[attr-defined]
            await _or_exit(run(stream, batch))

    app.agent(source, name=f"{prefix}executor.agent")(execute)
    return app


async def _or_exit(work: Coroutine[Any, Any, None]) -> None:
    """Run a batch; on an unexpected error, end the process before anything is committed.

    ``take_events`` acks a batch even when its processing raised, and the offsets would be
    committed on the way down: exiting at once makes Kafka deliver the batch again.
    """
    try:
        await work
    except Exception:
        log.critical("a batch failed; exiting so that it is delivered again", exc_info=True)
        logging.shutdown()
        os._exit(70)


def _dead_letter(event: Any, exc: DecodeError) -> bytes:
    message = event.message
    failure = RequestFailed(
        request_id=f"undecodable:{message.topic}[{message.partition}]@{message.offset}",
        submitted_at=utcnow(),
        stage="metrics",
        error_code=exc.code,
        message=exc.message,
        payload=(event.value or b"").decode("utf-8", "replace")[:65536],
        payload_encoding="utf-8",
    )
    return encode(failure)


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
