"""The reducer: alerts once per window and condition, deterministic closing, watermarks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.metrics import (
    ALERT_PRIORITY,
    FAILURE_RATE,
    INTENT_NAMESPACE,
    P95_LATENCY,
    PERSIST_PRIORITY,
    PUBLISH_PRIORITY,
    MetricsConfig,
    MetricsReducer,
    WindowKey,
    WindowKind,
    WindowState,
    advance_watermark,
    closed_windows,
    fold_all,
    is_closed,
)
from pipeline.metrics.state import prepare
from pipeline.records import Intent, IntentType, MetricsEvent

from .helpers import T0, event, events, failed, stored

HOURLY_ONLY = MetricsConfig(alert_kinds=(WindowKind.HOURLY,))
HOUR_KEY = WindowKey.of("hourly", T0)
DAY_KEY = WindowKey.of("daily", T0)
WEEK_KEY = WindowKey.of("weekly", T0)


def run(
    reducer: MetricsReducer,
    stream: list[MetricsEvent],
    states: dict[WindowKey, WindowState] | None = None,
) -> tuple[dict[WindowKey, WindowState], list[Intent], datetime | None]:
    """What the stream layer does: keep the states, pass the watermark back."""
    states = {} if states is None else states
    intents: list[Intent] = []
    watermark = None
    for item in stream:
        result = reducer.reduce(item, states, watermark)
        states.update(result.updates)
        intents += result.intents
        watermark = result.watermark
    return states, intents, watermark


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def failing_stream(count: int = 40) -> list[MetricsEvent]:
    """Half of the requests fail: the failure rate crosses 20 % once 20 have completed."""
    return [
        (failed if i % 2 else stored)(at=minutes(i % 60), request_id=f"r{i}") for i in range(count)
    ]


def test_failure_rate_raises_one_alert_per_window_and_condition() -> None:
    states, intents, _ = run(MetricsReducer(), failing_stream(80))
    alerts = [i for i in intents if i.type == IntentType.ALERT]
    assert len(alerts) == 3  # hourly, daily and weekly windows: once each
    assert {a.payload["window"]["kind"] for a in alerts} == {"hourly", "daily", "weekly"}
    assert {a.payload["condition"] for a in alerts} == {FAILURE_RATE}
    assert len({a.intent_id for a in alerts}) == 3
    for alert in alerts:
        assert alert.priority == ALERT_PRIORITY
        assert alert.target == "alerts"
        assert alert.payload["value"] > 0.2 and alert.payload["threshold"] == 0.2
        assert alert.payload["observed"] == 20  # raised as soon as min_requests completed
        assert alert.created_at == minutes(19)  # the time of the event that crossed
    assert states[HOUR_KEY].alerted == {FAILURE_RATE}


def test_no_alert_before_min_requests_or_below_the_rate() -> None:
    _, intents, _ = run(MetricsReducer(), failing_stream(19))
    assert intents == []
    healthy = [(failed if i % 10 == 0 else stored)(at=minutes(i)) for i in range(50)]
    _, intents, _ = run(MetricsReducer(), healthy)
    assert intents == []  # 10 % < 20 %


def test_alert_kinds_limit_the_windows_that_alert() -> None:
    _, intents, _ = run(MetricsReducer(HOURLY_ONLY), failing_stream(80))
    assert [i.payload["window"]["kind"] for i in intents] == ["hourly"]


def test_the_alerted_fact_survives_a_restart_through_the_state() -> None:
    reducer = MetricsReducer(HOURLY_ONLY)
    states, intents, _ = run(reducer, failing_stream(40))
    assert len(intents) == 1
    restored = {
        k: WindowState.from_dict(json.loads(json.dumps(s.to_dict()))) for k, s in states.items()
    }
    _, again, _ = run(MetricsReducer(HOURLY_ONLY), failing_stream(40), restored)
    assert again == []


def test_a_new_window_can_alert_again() -> None:
    reducer = MetricsReducer(HOURLY_ONLY)
    next_hour = [
        (failed if i % 2 else stored)(at=T0 + timedelta(hours=1, minutes=i)) for i in range(40)
    ]
    _, intents, _ = run(reducer, failing_stream(40) + next_hour)
    assert [i.payload["window"]["start"] for i in intents] == [
        "2024-01-01T10:00:00+00:00",
        "2024-01-01T11:00:00+00:00",
    ]


def test_p95_latency_raises_one_alert() -> None:
    config = MetricsConfig(
        alert_kinds=(WindowKind.HOURLY,), max_p95_latency_ms=10_000, min_requests=20
    )
    slow = [stored(at=minutes(i), e2e=1000.0 if i < 30 else 20_000.0) for i in range(60)]
    _, intents, _ = run(MetricsReducer(config), slow)
    assert len(intents) == 1
    alert = intents[0]
    assert alert.payload["condition"] == P95_LATENCY
    assert alert.payload["value"] > 10_000
    # The p95 is the value of rank floor(0.95 * (n - 1)); it reaches the first slow sample
    # (rank 30) when n = 33, at the event of minute 32.
    assert alert.created_at == minutes(32)


@given(
    st.lists(st.floats(min_value=0, max_value=50_000, allow_nan=False), min_size=1, max_size=120)
)
@settings(max_examples=60, deadline=None)
def test_the_latency_gate_never_misses_a_crossing(latencies: list[float]) -> None:
    """The reducer only queries the sketch when an event could make p95 cross: it must raise at
    exactly the event an unconditional check after every event would."""
    config = MetricsConfig(
        alert_kinds=(WindowKind.HOURLY,), max_p95_latency_ms=10_000, min_requests=5
    )
    stream = [stored(at=minutes(i % 60), e2e=x) for i, x in enumerate(latencies)]
    _, intents, _ = run(MetricsReducer(config), stream)
    expected = None
    state = WindowState()
    for i, item in enumerate(stream):
        state.fold(item)
        p95 = state.end_to_end.quantile(0.95)
        if state.end_to_end.count >= 5 and p95 is not None and p95 > 10_000:
            expected = i
            break
    if expected is None:
        assert intents == []
    else:
        assert len(intents) == 1 and intents[0].created_at == stream[expected].event_time


def test_check_alerts_for_merged_states() -> None:
    reducer = MetricsReducer(HOURLY_ONLY)
    state = fold_all(failing_stream(40))
    alerts = reducer.check_alerts(HOUR_KEY, state, minutes(59))
    assert [a.payload["condition"] for a in alerts] == [FAILURE_RATE]
    assert reducer.check_alerts(HOUR_KEY, state, minutes(59)) == []
    assert reducer.check_alerts(DAY_KEY, fold_all(failing_stream(40)), minutes(59)) == []


def test_close_emits_one_persist_and_one_publish_with_deterministic_ids() -> None:
    reducer = MetricsReducer()
    states, _, _ = run(reducer, failing_stream(10))
    intents = reducer.close(HOUR_KEY, states[HOUR_KEY])
    assert [i.type for i in intents] == [
        IntentType.PERSIST_METRICS,
        IntentType.PUBLISH_METRICS_RECORDED,
    ]
    persist, publish = intents
    start = "2024-01-01T10:00:00+00:00"
    assert persist.intent_id == str(uuid.uuid5(INTENT_NAMESPACE, f"PERSIST_METRICS:hourly:{start}"))
    assert publish.intent_id == str(
        uuid.uuid5(INTENT_NAMESPACE, f"PUBLISH_METRICS_RECORDED:hourly:{start}")
    )
    assert (persist.target, persist.priority) == ("store", PERSIST_PRIORITY)
    assert (publish.target, publish.priority) == ("metrics-recorded", PUBLISH_PRIORITY)
    end = datetime(2024, 1, 1, 11, tzinfo=UTC)
    assert persist.created_at == publish.created_at == end
    window = {"kind": "hourly", "start": start, "end": end.isoformat()}
    assert persist.payload["window"] == publish.payload["window"] == window
    assert WindowState.from_dict(persist.payload["state"]) == states[HOUR_KEY]
    assert persist.payload["summary"] == publish.payload["summary"] == states[HOUR_KEY].summary()
    assert publish.payload["summary"]["succeeded"] == 5
    for intent in intents:
        assert Intent.model_validate_json(intent.model_dump_json()) == intent
    # Same window, same ids, whatever the state; other windows, other ids.
    again = MetricsReducer().close(HOUR_KEY, WindowState())
    assert [i.intent_id for i in again] == [persist.intent_id, publish.intent_id]
    others = {i.intent_id for key in (DAY_KEY, WEEK_KEY) for i in reducer.close(key, None)}
    assert len(others) == 4 and not others & {persist.intent_id, publish.intent_id}


def test_a_replay_gives_the_same_intents() -> None:
    stream = failing_stream(80)

    def replay() -> list[Intent]:
        reducer = MetricsReducer()
        states, intents, watermark = run(reducer, stream)
        assert watermark is not None
        for key in reducer.closed_windows(states, watermark + timedelta(days=8)):
            intents += reducer.close(key, states.pop(key))
        return intents

    first, second = replay(), replay()
    assert [i.model_dump() for i in first] == [i.model_dump() for i in second]
    assert len(first) == 3 + 3 * 2


def test_closed_windows_follow_the_watermark_and_the_grace_period() -> None:
    keys = [HOUR_KEY, DAY_KEY, WEEK_KEY, WindowKey.of("hourly", T0 + timedelta(hours=13))]
    hour_end = T0 + timedelta(hours=1)
    assert closed_windows(keys, None, 60) == []
    assert closed_windows(keys, hour_end, 60) == []
    assert closed_windows(keys, hour_end + timedelta(seconds=59, microseconds=999_999), 60) == []
    assert closed_windows(keys, hour_end + timedelta(seconds=60), 60) == [HOUR_KEY]
    assert closed_windows(keys, hour_end, 0) == [HOUR_KEY]
    day_end = datetime(2024, 1, 2, tzinfo=UTC)
    # At the same end, the hour closes before the day it ends.
    late_hour = WindowKey.of("hourly", day_end - timedelta(minutes=1))
    assert closed_windows([DAY_KEY, late_hour, HOUR_KEY], day_end + timedelta(minutes=1), 60) == [
        HOUR_KEY,
        late_hour,
        DAY_KEY,
    ]
    assert is_closed(HOUR_KEY, hour_end + timedelta(minutes=1), 60)
    assert not is_closed(HOUR_KEY, hour_end, 60) and not is_closed(HOUR_KEY, None, 60)
    reducer = MetricsReducer(MetricsConfig(grace_seconds=0))
    assert reducer.closed_windows(keys, hour_end) == [HOUR_KEY]


def test_late_events_are_left_out_of_closed_windows_only() -> None:
    reducer = MetricsReducer()
    watermark = T0 + timedelta(hours=1, minutes=5)  # the 10:00 hour closed at 11:01
    result = reducer.reduce(stored(at=minutes(30)), {}, watermark)
    assert result.late == [HOUR_KEY]
    assert set(result.updates) == {DAY_KEY, WEEK_KEY}
    assert result.watermark == watermark  # never goes back
    on_time = reducer.reduce(stored(at=minutes(30)), {}, T0 + timedelta(hours=1))
    assert on_time.late == [] and set(on_time.updates) == {HOUR_KEY, DAY_KEY, WEEK_KEY}


def test_the_watermark_is_the_largest_event_time() -> None:
    reducer = MetricsReducer()
    first = reducer.reduce(event(at=minutes(10)), {}, None)
    assert first.watermark == minutes(10)
    second = reducer.reduce(event(at=minutes(5)), {}, first.watermark)
    assert second.watermark == minutes(10)
    naive = reducer.reduce(event(at=minutes(20).replace(tzinfo=None)), {}, second.watermark)
    assert naive.watermark == minutes(20) and naive.watermark.tzinfo is not None
    assert advance_watermark(None, minutes(1)) == minutes(1)
    assert advance_watermark(minutes(2), minutes(1)) == minutes(2)


def test_reduce_updates_the_given_states_and_keys_for_names_them() -> None:
    reducer = MetricsReducer()
    item = stored(at=minutes(1))
    assert reducer.keys_for(item) == (HOUR_KEY, DAY_KEY, WEEK_KEY)
    existing = WindowState()
    result = reducer.reduce(item, {HOUR_KEY: existing, DAY_KEY: None})
    assert result.updates[HOUR_KEY] is existing and existing.succeeded == 1
    assert result.updates[DAY_KEY].succeeded == 1 and result.intents == []
    only_daily = MetricsReducer(MetricsConfig(window_kinds=(WindowKind.DAILY,)))
    assert only_daily.keys_for(item) == (DAY_KEY,)


@given(st.lists(events(), max_size=60), st.integers(min_value=1, max_value=25))
@settings(max_examples=40, deadline=None)
def test_batches_and_single_events_give_the_same_states(
    stream: list[MetricsEvent], size: int
) -> None:
    reducer = MetricsReducer(MetricsConfig(grace_seconds=600))
    single, _, single_mark = run(reducer, stream)
    batched: dict[WindowKey, WindowState] = {}
    watermark = None
    late: set[WindowKey] = set()
    for i in range(0, len(stream), size):
        result = reducer.reduce_batch(stream[i : i + size], batched, watermark)
        batched.update(result.updates)
        late |= set(result.late)
        watermark = result.watermark
    for states in (single, batched):
        for state in states.values():
            state.alerted.clear()
    assert batched == single
    assert watermark == single_mark
    folded: dict[WindowKey, WindowState] = {}
    for i in range(0, len(stream), size):
        reducer.fold_batch(folded, stream[i : i + size])
    one_by_one: dict[WindowKey, WindowState] = {}
    for item in stream:
        reducer.fold_into(one_by_one, item)
    assert folded == one_by_one


def test_reduce_batch_alerts_once_per_window() -> None:
    reducer = MetricsReducer()
    stream = failing_stream(80)
    states: dict[WindowKey, WindowState] = {}
    intents: list[Intent] = []
    watermark = None
    for i in range(0, 80, 30):
        result = reducer.reduce_batch(stream[i : i + 30], states, watermark)
        states.update(result.updates)
        intents += result.intents
        watermark = result.watermark
    _, single, _ = run(MetricsReducer(), stream)
    assert sorted(i.intent_id for i in intents) == sorted(i.intent_id for i in single)
    assert len(intents) == 3


def test_prepare_is_what_the_fold_uses() -> None:
    item = failed(at=minutes(1), e2e=1500.0, code="X")
    prepared = prepare(item)
    assert prepared[1] == "validate" and prepared[13] == "X"
    assert fold_all([item]) == WindowState().fold_prepared(prepared)


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        MetricsConfig(max_failure_rate=1.5)
    with pytest.raises(ValueError):
        MetricsConfig.model_validate({"window_kinds": ["monthly"]})
