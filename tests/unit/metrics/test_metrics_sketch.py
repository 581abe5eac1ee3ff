"""The latency sketch: quantiles within the relative accuracy, exact merges, round trips."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.metrics.sketch import ALPHA, GAMMA, ZERO_THRESHOLD, LatencySketch, bucket_index

VALUES = st.lists(
    st.one_of(
        st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=1e-5),
        st.just(0.0),
    ),
    min_size=1,
    max_size=300,
)
QUANTILES = st.sampled_from([0.5, 0.95, 0.99]) | st.floats(min_value=0, max_value=1)


def reference(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def close_enough(estimate: float, exact: float) -> bool:
    # ALPHA relative, a little float slack at bucket edges, and the zero bucket's width.
    return abs(estimate - exact) <= ALPHA * exact * (1 + 1e-9) + ZERO_THRESHOLD


@settings(deadline=None)
@given(VALUES, QUANTILES)
def test_quantiles_are_within_the_relative_accuracy_of_the_sorted_list(
    values: list[float], q: float
) -> None:
    sketch = LatencySketch(values)
    estimate = sketch.quantile(q)
    assert estimate is not None
    assert close_enough(estimate, reference(values, q)), (estimate, reference(values, q))


@settings(deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=1e6), min_size=100, max_size=2000))
def test_p50_p95_p99_of_larger_samples(values: list[float]) -> None:
    sketch = LatencySketch(values)
    for q in (0.5, 0.95, 0.99):
        estimate = sketch.quantile(q)
        assert estimate is not None and close_enough(estimate, reference(values, q))


@settings(deadline=None)
@given(VALUES, VALUES)
def test_merge_equals_building_from_the_concatenation(a: list[float], b: list[float]) -> None:
    left, right = LatencySketch(a), LatencySketch(b)
    before = (left.to_dict(), right.to_dict())
    merged = left.merge(right)
    assert merged == LatencySketch(a + b)
    assert merged == right.merge(left)
    assert (left.to_dict(), right.to_dict()) == before  # inputs untouched
    assert merged.count == len(a) + len(b)
    assert merged.min == min(a + b) and merged.max == max(a + b)


@settings(deadline=None)
@given(VALUES)
def test_serialisation_round_trip(values: list[float]) -> None:
    sketch = LatencySketch(values)
    document = json.loads(json.dumps(sketch.to_dict()))
    again = LatencySketch.from_dict(document)
    assert again == sketch
    assert again.to_dict() == sketch.to_dict()
    assert again.quantile(0.95) == sketch.quantile(0.95)


@settings(deadline=None)
@given(VALUES)
def test_count_min_max_sum(values: list[float]) -> None:
    sketch = LatencySketch(values)
    assert sketch.count == len(values)
    assert sketch.min == min(values) and sketch.max == max(values)
    assert sketch.quantile(0) == min(values) and sketch.quantile(1) == max(values)
    assert math.isclose(sketch.sum, math.fsum(values), rel_tol=1e-9, abs_tol=1e-3 * len(values))


def test_an_empty_sketch() -> None:
    sketch = LatencySketch()
    assert sketch.count == 0 and sketch.sum == 0
    assert sketch.min is None and sketch.max is None and sketch.mean is None
    assert sketch.quantile(0.5) is None
    assert LatencySketch.from_dict(sketch.to_dict()) == sketch
    assert LatencySketch.from_dict({}) == sketch
    assert sketch.merge(sketch) == sketch


def test_zero_and_tiny_values_share_the_zero_bucket() -> None:
    sketch = LatencySketch([0.0, 1e-12, 5e-7, 2.0])
    assert bucket_index(0.0) == bucket_index(5e-7)
    assert sketch.to_dict()["zero"] == 3
    assert sketch.quantile(0.5) == 0.0  # clamped to the exact minimum
    assert sketch.quantile(1.0) == 2.0


def test_buckets_follow_the_log_gamma_rule() -> None:
    assert math.isclose(GAMMA, 1.01 / 0.99)
    for x in (1e-3, 0.5, 1.0, 1.5, 123.4, 30_000.0, 1e8):
        assert bucket_index(x) == math.ceil(math.log(x) / math.log(GAMMA))
        assert GAMMA ** (bucket_index(x) - 1) < x * (1 + 1e-12)
        assert x <= GAMMA ** bucket_index(x) * (1 + 1e-12)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
def test_invalid_values_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        LatencySketch().add(bad)


def test_invalid_quantiles_and_documents_are_refused() -> None:
    with pytest.raises(ValueError):
        LatencySketch([1.0]).quantile(1.5)
    with pytest.raises(ValueError, match="add up"):
        LatencySketch.from_dict({"count": 3, "bins": [[1, 1]]})


def test_the_serialised_form_is_compact() -> None:
    sketch = LatencySketch([10.0] * 1000 + [20.0] * 1000)
    document = sketch.to_dict()
    assert document["count"] == 2000
    assert len(document["bins"]) == 2
    assert document["sum"] == 30_000_000  # thousandths of the unit, exact
    assert len(json.dumps(document)) < 150
