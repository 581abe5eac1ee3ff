"""The metrics reducer: pure event-time logic behind the metrics stream processor.

Nothing here reads a clock, a file or the network: time comes from the events, and the same
events give the same states and the same intents (with the same ids). The stream layer keeps the
window states in a table (``WindowKey.to_str()`` keys, ``WindowState.to_dict()`` values) and the
watermark, the largest event time seen, and for every event::

    keys = reducer.keys_for(event)
    result = reducer.reduce(event, {k: load(table.get(k)) for k in keys}, watermark)
    for key, state in result.updates.items():
        table[key] = state            # the alerted conditions travel with the state
    watermark = result.watermark      # keep it in a table too: it must survive restarts
    for key in reducer.closed_windows(open_keys, watermark):
        intents += reducer.close(key, table.pop(key))
    intents += result.intents         # ALERTs raised by this event

``reduce_batch`` does the same for a batch of events (``stream.take``), with the same states.

Windows close on event time, not on a wall-clock timer: a window is closed once the watermark has
reached ``end + grace``, and an event for a closed window is late and left out (listed in
``ReduceResult.late``). Every window crosses each alert condition at most once: the condition is
recorded in the window's state, so a restarted reducer does not raise it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from pipeline.metrics.intents import (
    ALERT_TARGET,
    FAILURE_RATE,
    P95_LATENCY,
    PERSIST_TARGET,
    PUBLISH_TARGET,
    alert_intent,
    persist_intent,
    publish_intent,
)
from pipeline.metrics.state import (
    FAILED,
    OK,
    STORE_STAGE,
    WindowState,
    fold_prepared_into,
    prepare,
)
from pipeline.metrics.windows import (
    ALL_KINDS,
    HOUR,
    WINDOW_OFFSETS,
    WINDOW_SECONDS,
    WindowKey,
    WindowKind,
    as_utc,
    epoch_micros,
    epoch_seconds,
    from_epoch_us,
)
from pipeline.records.intents import Intent
from pipeline.records.metrics import MetricsEvent

LATENCY_QUANTILE = 0.95
# An added value can raise a quantile estimate to at most the value times (1 + ALPHA); below this
# share of the threshold, an event cannot make the p95 cross it, and the sketch is not queried.
_LATENCY_GATE = 0.95


class MetricsConfig(BaseModel):
    """Thresholds and windows of the reducer."""

    model_config = ConfigDict(frozen=True)

    window_kinds: tuple[WindowKind, ...] = ALL_KINDS
    alert_kinds: tuple[WindowKind, ...] | None = Field(
        default=None, description="Windows whose thresholds raise alerts; None: every window."
    )
    max_failure_rate: float = Field(default=0.2, ge=0, le=1)
    min_requests: int = Field(
        default=20, ge=1, description="Completed requests (or latency samples) before alerting."
    )
    max_p95_latency_ms: float = Field(default=30_000.0, gt=0)
    grace_seconds: float = Field(default=60.0, ge=0)
    persist_target: str = PERSIST_TARGET
    publish_target: str = PUBLISH_TARGET
    alert_target: str = ALERT_TARGET


@dataclass(slots=True)
class ReduceResult:
    """What one event changed: states to write back, intents to send, windows it missed."""

    updates: dict[WindowKey, WindowState] = field(default_factory=dict)
    intents: list[Intent] = field(default_factory=list)
    late: list[WindowKey] = field(default_factory=list)
    watermark: datetime | None = None


def is_closed(key: WindowKey, watermark: datetime | None, grace_seconds: float) -> bool:
    """Whether the watermark has passed ``end + grace`` of the window."""
    if watermark is None:
        return False
    return key.end * 1_000_000 + grace_seconds * 1_000_000 <= epoch_micros(watermark)


def closed_windows(
    open_keys: Iterable[WindowKey], watermark: datetime | None, grace_seconds: float
) -> list[WindowKey]:
    """The windows among ``open_keys`` the watermark has closed: earliest end first and, for
    the same end, shortest window first (an hour closes before the day it ends)."""
    if watermark is None:
        return []
    limit = epoch_micros(watermark) - grace_seconds * 1_000_000
    closed = [key for key in open_keys if key.end * 1_000_000 <= limit]
    return sorted(closed, key=lambda k: (k.end, WINDOW_SECONDS[k.kind]))


def advance_watermark(watermark: datetime | None, event_time: datetime) -> datetime:
    """The larger of the watermark and an event time (naive means UTC)."""
    moment = as_utc(event_time)
    if watermark is None or moment > watermark:
        return moment
    return watermark


class MetricsReducer:
    """Folds events into windows and turns thresholds and closed windows into intents."""

    _CACHE_LIMIT = 4096

    def __init__(self, config: MetricsConfig | None = None) -> None:
        self.config = config or MetricsConfig()
        kinds = tuple(WindowKind(k) for k in self.config.window_kinds)
        self.kinds: tuple[str, ...] = tuple(dict.fromkeys(k.value for k in kinds))
        alert = self.config.alert_kinds
        self.alert_kinds: frozenset[str] = frozenset(
            self.kinds if alert is None else (WindowKind(k).value for k in alert)
        )
        self._grace_us = round(self.config.grace_seconds * 1_000_000)
        self._min_requests = self.config.min_requests
        self._max_failure_rate = self.config.max_failure_rate
        self._latency_gate = _LATENCY_GATE * self.config.max_p95_latency_ms
        # Every window boundary is an hour boundary: the keys of an instant only depend on its
        # hour, so they are computed once per hour (a cache of pure results, bounded).
        self._keys: dict[int, tuple[tuple[WindowKey, int], ...]] = {}
        self._mark_of: datetime | None = None
        self._mark: int | None = None

    # -- windows -------------------------------------------------------------------------

    def _entries_at(self, seconds: int) -> tuple[tuple[WindowKey, int], ...]:
        """The keys (with their end in µs) of the windows holding the instant ``seconds``."""
        hour = seconds - seconds % HOUR
        entries = self._keys.get(hour)
        if entries is None:
            if len(self._keys) >= self._CACHE_LIMIT:
                self._keys.clear()
            keys = (
                WindowKey(kind, hour - (hour - WINDOW_OFFSETS[kind]) % WINDOW_SECONDS[kind])
                for kind in self.kinds
            )
            entries = self._keys[hour] = tuple((key, key.end * 1_000_000) for key in keys)
        return entries

    def keys_for(self, event: MetricsEvent) -> tuple[WindowKey, ...]:
        """The window keys ``event`` falls into (one per configured kind)."""
        return tuple(key for key, _ in self._entries_at(epoch_seconds(event.event_time)))

    def closed_windows(
        self, open_keys: Iterable[WindowKey], watermark: datetime | None
    ) -> list[WindowKey]:
        """:func:`closed_windows` with the configured grace period."""
        return closed_windows(open_keys, watermark, self.config.grace_seconds)

    # -- events --------------------------------------------------------------------------

    def fold_into(
        self, states: MutableMapping[WindowKey, WindowState], event: MetricsEvent
    ) -> None:
        """Fold ``event`` into its windows in ``states`` (created when missing); no alerts.

        For aggregation and replays; the stream layer uses :meth:`reduce`.
        """
        p = prepare(event)
        seconds = p[0] // 1_000_000
        entries = self._keys.get(seconds - seconds % HOUR) or self._entries_at(seconds)
        targets = []
        for key, _ in entries:
            state = states.get(key)
            if state is None:
                state = states[key] = WindowState()
            targets.append(state)
        fold_prepared_into(targets, p)

    def reduce(
        self,
        event: MetricsEvent,
        current: Mapping[WindowKey, WindowState | None],
        watermark: datetime | None = None,
    ) -> ReduceResult:
        """Fold ``event`` into each of its windows and raise the alerts it causes.

        ``current`` maps window keys to their states (missing or None: an empty window). The
        states are updated in place and returned in ``updates``; pass copies to keep the old
        ones. Windows the ``watermark`` has already closed are not touched (``late``).
        ``watermark`` in the result is the larger of ``watermark`` and the event's time.
        """
        p = prepare(event)
        t_us = p[0]
        seconds = t_us // 1_000_000
        entries = self._keys.get(seconds - seconds % HOUR) or self._entries_at(seconds)
        if watermark is None:
            mark = None
        elif watermark is self._mark_of:
            mark = self._mark
        else:
            mark = epoch_micros(watermark)
        updates: dict[WindowKey, WindowState] = {}
        late: list[WindowKey] = []
        intents: list[Intent] = []
        limit = None if mark is None else mark - self._grace_us
        for key, end_us in entries:
            if limit is not None and end_us <= limit:
                late.append(key)
                continue
            state = current.get(key)
            updates[key] = WindowState() if state is None else state
        fold_prepared_into(updates.values(), p)
        # Alerts: only terminal events move the failure rate, only latencies the p95. The
        # common event costs a comparison or two; the sketch is queried only when an event
        # could make its p95 cross (see _LATENCY_GATE) or the sample count reaches the minimum.
        outcome = p[2]
        rate_moves = outcome == FAILED or (outcome == OK and p[1] == STORE_STAGE)
        e2e = p[6]
        if rate_moves or e2e >= 0.0:
            alert_kinds = self.alert_kinds
            min_requests = self._min_requests
            for key, state in updates.items():
                if key.kind not in alert_kinds:
                    continue
                alerted = state.alerted
                if rate_moves and FAILURE_RATE not in alerted:
                    done = state.succeeded + state.failed
                    if done >= min_requests and state.failed > self._max_failure_rate * done:
                        self._check_failure_rate(key, state, intents, event.event_time)
                if (
                    e2e >= 0.0
                    and P95_LATENCY not in alerted
                    and (e2e >= self._latency_gate or state.end_to_end.count == min_requests)
                ):
                    self._check_latency(key, state, intents, event.event_time)
        if mark is None or t_us > mark:
            moment = event.event_time
            if moment.tzinfo is not UTC:
                moment = as_utc(moment)
            watermark, mark = moment, t_us
        # The caller passes the returned watermark back: remember its conversion.
        self._mark_of, self._mark = watermark, mark
        return ReduceResult(updates, intents, late, watermark)

    def _check_failure_rate(
        self, key: WindowKey, state: WindowState, intents: list[Intent], at: datetime
    ) -> None:
        config = self.config
        done = state.succeeded + state.failed
        if done >= config.min_requests and state.failed > config.max_failure_rate * done:
            state.alerted.add(FAILURE_RATE)
            intents.append(
                alert_intent(
                    key,
                    FAILURE_RATE,
                    value=state.failed / done,
                    threshold=config.max_failure_rate,
                    observed=done,
                    at=as_utc(at),
                    target=config.alert_target,
                )
            )

    def _check_latency(
        self, key: WindowKey, state: WindowState, intents: list[Intent], at: datetime
    ) -> None:
        config = self.config
        sketch = state.end_to_end
        if sketch.count < config.min_requests:
            return
        p95 = sketch.quantile(LATENCY_QUANTILE)
        if p95 is not None and p95 > config.max_p95_latency_ms:
            state.alerted.add(P95_LATENCY)
            intents.append(
                alert_intent(
                    key,
                    P95_LATENCY,
                    value=round(p95, 3),
                    threshold=config.max_p95_latency_ms,
                    observed=sketch.count,
                    at=as_utc(at),
                    target=config.alert_target,
                )
            )

    def check_alerts(self, key: WindowKey, state: WindowState, at: datetime) -> list[Intent]:
        """Every threshold ``state`` crosses and has not alerted yet (marks them alerted).

        For states built another way than :meth:`reduce` (for example merged from partitions);
        ``at`` is the event time to stamp the alerts with.
        """
        intents: list[Intent] = []
        if key.kind not in self.alert_kinds:
            return intents
        if FAILURE_RATE not in state.alerted:
            self._check_failure_rate(key, state, intents, at)
        if P95_LATENCY not in state.alerted:
            self._check_latency(key, state, intents, at)
        return intents

    # -- batches -------------------------------------------------------------------------

    def reduce_batch(
        self,
        events: Iterable[MetricsEvent],
        current: Mapping[WindowKey, WindowState | None],
        watermark: datetime | None = None,
    ) -> ReduceResult:
        """:meth:`reduce` for a batch of events (for example from ``stream.take``).

        The resulting states are exactly those of reducing the events one by one (the fold is
        associative): each event is folded once, into a delta of its hour, and the deltas are
        merged into the hourly, daily and weekly windows at the end. Lateness is decided per
        event against the watermark as it advances through the batch. Thresholds are checked
        once per window at the end of the batch, so an alert is stamped with the time of the
        window's latest event in the batch (same id as with :meth:`reduce`).
        """
        mark = None if watermark is None else epoch_micros(watermark)
        grace = self._grace_us
        limit = None if mark is None else mark - grace
        cache = self._keys
        deltas: dict[int, WindowState] = {}
        direct: dict[WindowKey, WindowState] = {}
        late: dict[WindowKey, None] = {}
        latest = watermark
        for event in events:
            p = prepare(event)
            t_us = p[0]
            seconds = t_us // 1_000_000
            hour = seconds - seconds % HOUR
            if limit is None or hour * 1_000_000 + HOUR * 1_000_000 > limit:
                # On time for its hour, hence for every longer window holding it.
                delta = deltas.get(hour)
                if delta is None:
                    delta = deltas[hour] = WindowState()
                fold_prepared_into((delta,), p)
            else:
                entries = cache.get(hour) or self._entries_at(seconds)
                targets = []
                for key, end_us in entries:
                    if end_us <= limit:
                        late[key] = None
                        continue
                    state = direct.get(key)
                    if state is None:
                        state = direct[key] = WindowState()
                    targets.append(state)
                fold_prepared_into(targets, p)
            if mark is None or t_us > mark:
                mark, latest = t_us, event.event_time
                limit = mark - grace
        updates: dict[WindowKey, WindowState] = {}
        last_at: dict[WindowKey, int] = {}

        def target(key: WindowKey) -> WindowState:
            state = updates.get(key)
            if state is None:
                found = current.get(key)
                state = updates[key] = WindowState() if found is None else found
            return state

        for hour, delta in deltas.items():
            for key, _ in cache.get(hour) or self._entries_at(hour):
                target(key).update(delta)
                last_at[key] = max(last_at.get(key, delta.last_us), delta.last_us)
        for key, delta in direct.items():
            target(key).update(delta)
            last_at[key] = max(last_at.get(key, delta.last_us), delta.last_us)
        intents: list[Intent] = []
        for key, state in updates.items():
            if key.kind in self.alert_kinds:
                intents += self.check_alerts(key, state, from_epoch_us(last_at[key]))
        if latest is not None and latest.tzinfo is not UTC:
            latest = as_utc(latest)
        return ReduceResult(updates, intents, list(late), latest)

    def fold_batch(
        self, states: MutableMapping[WindowKey, WindowState], events: Iterable[MetricsEvent]
    ) -> None:
        """:meth:`fold_into` for many events: one fold per event into a delta of its hour,
        then one merge per hour and window (no alerts, no lateness)."""
        cache = self._keys
        deltas: dict[int, WindowState] = {}
        for event in events:
            p = prepare(event)
            seconds = p[0] // 1_000_000
            hour = seconds - seconds % HOUR
            delta = deltas.get(hour)
            if delta is None:
                delta = deltas[hour] = WindowState()
            fold_prepared_into((delta,), p)
        for hour, delta in deltas.items():
            entries = cache.get(hour) or self._entries_at(hour)
            last = len(entries) - 1
            for i, (key, _) in enumerate(entries):
                state = states.get(key)
                if state is None:
                    states[key] = delta if i == last else delta.copy()  # the last may keep it
                else:
                    state.update(delta)

    # -- closing -------------------------------------------------------------------------

    def close(self, key: WindowKey, state: WindowState | None) -> list[Intent]:
        """Exactly one PERSIST_METRICS and one PUBLISH_METRICS_RECORDED intent for the window."""
        state = WindowState() if state is None else state
        return [
            persist_intent(key, state, target=self.config.persist_target),
            publish_intent(key, state, target=self.config.publish_target),
        ]
