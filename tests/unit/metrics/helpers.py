"""Builders of metrics events for the reducer tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from pipeline.catalogue import STAGES
from pipeline.records import MetricsEvent, Outcome

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)  # a Monday


def event(
    stage: str = "extract",
    outcome: Outcome | str = Outcome.OK,
    *,
    at: datetime = T0,
    duration_ms: float = 10.0,
    request_id: str = "r-1",
    **fields: Any,
) -> MetricsEvent:
    return MetricsEvent(
        request_id=request_id,
        submitted_at=at - timedelta(seconds=1),
        produced_at=at,
        stage=stage,
        outcome=Outcome(outcome),
        duration_ms=duration_ms,
        event_time=at,
        **fields,
    )


def stored(at: datetime = T0, e2e: float = 1000.0, **fields: Any) -> MetricsEvent:
    return event("store", Outcome.OK, at=at, end_to_end_ms=e2e, **fields)


def failed(
    stage: str = "validate", at: datetime = T0, e2e: float = 1000.0, code: str = "E", **fields: Any
) -> MetricsEvent:
    return event(stage, Outcome.FAILED, at=at, end_to_end_ms=e2e, error_code=code, **fields)


MOMENTS = st.integers(min_value=0, max_value=3 * 86400 * 1_000_000).map(
    lambda us: T0 + timedelta(microseconds=us)
)
DURATIONS = st.one_of(
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.sampled_from([0.0, 1e-9, 1.0, 30_000.0]),
)


@st.composite
def events(draw: st.DrawFn) -> MetricsEvent:
    stage = draw(st.sampled_from(STAGES))
    outcome = draw(st.sampled_from(list(Outcome)))
    terminal = outcome is Outcome.FAILED or (stage == "store" and outcome is Outcome.OK)
    generating = stage == "generate"
    return event(
        stage,
        outcome,
        at=draw(MOMENTS),
        duration_ms=draw(DURATIONS),
        request_id=f"r-{draw(st.integers(0, 50))}",
        end_to_end_ms=draw(DURATIONS) if terminal else None,
        error_code=draw(st.sampled_from([None, "A", "B"])) if outcome is Outcome.FAILED else None,
        attempt=draw(st.integers(1, 3)),
        stubs=draw(st.integers(0, 5)) if stage == "extract" else 0,
        model=draw(st.sampled_from([None, "m1", "m2"])) if generating else None,
        prompt_tokens=draw(st.integers(0, 5000)) if generating else 0,
        completion_tokens=draw(st.integers(0, 5000)) if generating else 0,
        cost_usd=draw(st.floats(0, 1, allow_nan=False)) if generating else 0.0,
    )
