"""Window state: the exact definitions, and a fold/merge that is associative and commutative."""

from __future__ import annotations

import itertools
import json
import math
import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.metrics.state import WindowState, fold, fold_all, merge
from pipeline.records import MetricsEvent, Outcome

from .helpers import T0, event, events, failed, stored


def scenario() -> list[MetricsEvent]:
    return [
        event("extract", stubs=3, request_id="a"),
        event("extract", stubs=2, request_id="b"),
        event("extract", Outcome.FAILED, error_code="INVALID_REQUEST", end_to_end_ms=5.0,
              request_id="c"),
        event("generate", model="m1", prompt_tokens=100, completion_tokens=40, cost_usd=0.002,
              duration_ms=800.0, request_id="a"),
        event("generate", Outcome.RETRY, model="m1", prompt_tokens=10, completion_tokens=4,
              cost_usd=0.0001, request_id="b"),
        event("generate", attempt=2, model="m2", prompt_tokens=50, completion_tokens=20,
              cost_usd=0.001, duration_ms=1200.0, request_id="b"),
        event("generate", prompt_tokens=7, request_id="b"),
        stored(e2e=2000.0, request_id="a"),
        failed("validate", e2e=3000.0, code="SYNTAX", request_id="b"),
    ]  # fmt: skip


def test_the_definitions() -> None:
    state = fold_all(scenario())
    assert state.events == 9
    assert state.started == 3  # extract ok or failed
    assert state.succeeded == 1  # store ok
    assert state.failed == 2  # failed at any stage
    assert state.completed == 3
    assert state.success_rate == 1 / 3
    assert state.retried == 1
    assert state.repairs == 1  # generate with attempt > 1
    assert state.failures == {"INVALID_REQUEST": 1, "SYNTAX": 1}
    assert state.end_to_end.count == 3
    generate = state.stages["generate"]
    assert (generate.events, generate.ok, generate.failed, generate.retried) == (4, 3, 0, 1)
    assert generate.duration.count == 4
    assert state.stages["extract"].stubs == 5
    assert state.models["m1"].prompt_tokens == 110
    assert state.models["m1"].completion_tokens == 44
    assert state.models["m1"].events == 2
    assert math.isclose(state.models["m1"].cost_usd, 0.0021)
    assert state.models["m2"].events == 1
    assert state.models["unknown"].prompt_tokens == 7  # tokens without a model
    assert "store" in state.stages and "inject" not in state.stages
    assert state.first_event_us == state.last_event_us


def test_the_summary_has_the_headline_numbers() -> None:
    summary = fold_all(scenario()).summary()
    json.dumps(summary)
    assert summary["requests_started"] == 3
    assert summary["succeeded"] == 1 and summary["failed"] == 2
    assert summary["success_rate"] == round(1 / 3, 6)
    e2e = summary["end_to_end_ms"]
    assert e2e["count"] == 3
    assert abs(e2e["p50"] - 2000.0) <= 20 and abs(e2e["p99"] - 2000.0) <= 20
    assert e2e["max"] == 3000.0
    assert set(summary["stages"]) == {"extract", "generate", "validate", "store"}
    assert abs(summary["stages"]["generate"]["duration_ms"]["p95"] - 800.0) <= 8
    assert summary["models"]["m1"]["prompt_tokens"] == 110
    assert summary["tokens"] == {"prompt": 167, "completion": 64}
    assert math.isclose(summary["cost_usd"], 0.0031)
    assert summary["failures_by_code"] == {"INVALID_REQUEST": 1, "SYNTAX": 1}
    assert summary["first_event_at"] == T0.isoformat()
    assert summary["repair_attempts"] == 1


def test_an_empty_state() -> None:
    state = WindowState()
    summary = state.summary()
    assert summary["success_rate"] is None
    assert summary["end_to_end_ms"]["p95"] is None
    assert summary["first_event_at"] is None
    assert WindowState.from_dict(state.to_dict()) == state
    assert WindowState.from_dict({}) == state


def test_unusable_durations() -> None:
    weird = [
        event(duration_ms=math.inf),
        stored(e2e=-5.0),  # clock skew: counted as zero
        stored(e2e=math.nan),
    ]
    state = fold_all(weird)
    assert state.events == 3
    assert state.stages["extract"].duration.count == 0
    assert state.end_to_end.count == 1 and state.end_to_end.max == 0.0


def test_naive_event_times_are_utc() -> None:
    aware = fold_all([event(at=T0)])
    naive = fold_all([event(at=T0.replace(tzinfo=None))])
    assert aware == naive


@given(st.lists(events(), max_size=40), st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_any_split_and_merge_order_gives_the_same_state(
    batch: list[MetricsEvent], rnd: random.Random
) -> None:
    expected = fold_all(batch)
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    assert fold_all(shuffled) == expected
    # Split into chunks, fold each, merge them pairwise in a random tree order.
    cuts = sorted(rnd.sample(range(len(shuffled) + 1), k=min(4, len(shuffled) + 1)))
    bounds = [0, *cuts, len(shuffled)]
    parts = [fold_all(shuffled[a:b]) for a, b in itertools.pairwise(bounds)]
    while len(parts) > 1:
        i = rnd.randrange(len(parts) - 1)
        left, right = parts[i], parts[i + 1]
        if rnd.random() < 0.5:
            left, right = right, left
        parts[i : i + 2] = [merge(left, right)]
    assert parts[0] == expected
    assert parts[0].to_dict() == expected.to_dict()


@given(
    st.lists(events(), max_size=15),
    st.lists(events(), max_size=15),
    st.lists(events(), max_size=15),
)
@settings(max_examples=40, deadline=None)
def test_merge_is_associative_and_commutative_with_an_identity(
    a: list[MetricsEvent], b: list[MetricsEvent], c: list[MetricsEvent]
) -> None:
    x, y, z = fold_all(a), fold_all(b), fold_all(c)
    snapshot = (x.to_dict(), y.to_dict(), z.to_dict())
    assert merge(merge(x, y), z) == merge(x, merge(y, z)) == fold_all(a + b + c)
    assert merge(x, y) == merge(y, x)
    assert merge(x, WindowState()) == x == merge(WindowState(), x)
    assert (x.to_dict(), y.to_dict(), z.to_dict()) == snapshot  # merge leaves its inputs alone


@given(st.lists(events(), max_size=30))
@settings(max_examples=40, deadline=None)
def test_state_round_trips_through_json(batch: list[MetricsEvent]) -> None:
    state = fold_all(batch)
    state.alerted.add("failure_rate")
    document = json.loads(json.dumps(state.to_dict()))
    again = WindowState.from_dict(document)
    assert again == state
    assert again.summary() == state.summary()
    more = event(at=T0 + timedelta(hours=1))
    assert fold(again, more) == fold(state.copy(), more)


def test_duplicates_are_counted_again() -> None:
    once = fold_all([stored()])
    twice = fold_all([stored(), stored()])
    assert twice.succeeded == 2 * once.succeeded
