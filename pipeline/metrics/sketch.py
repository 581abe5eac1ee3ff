"""A mergeable latency sketch: a DDSketch-style log-bucketed histogram.

Every value ``x`` above :data:`ZERO_THRESHOLD` goes into bucket ``ceil(log(x) / log(GAMMA))``
with ``GAMMA = (1 + ALPHA) / (1 - ALPHA)``; a bucket is reported as ``2 * GAMMA**i / (GAMMA + 1)``,
which is within a relative error of ``ALPHA`` (1 %) of every value the bucket holds. Values below
the threshold (zero and sub-nanosecond durations when the unit is milliseconds) are counted in a
separate zero bucket reported as ``0`` (then clamped to the exact minimum).

The sketch is a commutative monoid: ``merge`` adds bucket counts, keeps the exact ``min``/``max``
and adds the sums. The sum is kept as an integer number of thousandths of the unit (microseconds
for milliseconds), each value rounded once when added, so merging in any order gives exactly the
same sketch (float additions would not be associative).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

ALPHA = 0.01
"""Relative accuracy of every quantile."""
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
INV_LOG_GAMMA = 1.0 / LOG_GAMMA
ZERO_THRESHOLD = 1e-6
"""Values below this go into the zero bucket."""
SUM_SCALE = 1000
"""The sum is kept as ``round(x * SUM_SCALE)`` integers (exact, associative)."""
ZERO_KEY = -(2**62)
"""Internal bucket index of the zero bucket (sorts before every real index)."""

_INF = math.inf
_log = math.log
_ceil = math.ceil


def bucket_index(x: float) -> int:
    """The bucket of a valid value (``0 <= x < inf``); :data:`ZERO_KEY` for tiny values."""
    if x < ZERO_THRESHOLD:
        return ZERO_KEY
    return _ceil(_log(x) * INV_LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The representative value of a bucket (within ``ALPHA`` of every value it holds)."""
    if index == ZERO_KEY:
        return 0.0
    return 2.0 * math.exp(index * LOG_GAMMA) / (GAMMA + 1.0)


def check_value(x: float) -> float:
    """``x`` as a float if it can be added to a sketch; ``ValueError`` otherwise."""
    x = float(x)
    if not 0.0 <= x < _INF:
        raise ValueError(f"a sketch holds finite non-negative values, not {x!r}")
    return x


class LatencySketch:
    """Log-bucketed histogram with relative accuracy :data:`ALPHA`; see the module docstring."""

    __slots__ = ("_max", "_min", "_sum", "bins", "count")

    def __init__(self, values: Iterable[float] = ()) -> None:
        self.count = 0
        self._sum = 0
        self._min = _INF
        self._max = -_INF
        self.bins: dict[int, int] = {}
        for value in values:
            self.add(value)

    # -- building ------------------------------------------------------------------------

    def add(self, x: float) -> None:
        """Add one value; ``ValueError`` for negative, NaN or infinite values."""
        x = check_value(x)
        self.add_prepared(x, bucket_index(x), round(x * SUM_SCALE))

    def add_prepared(self, x: float, index: int, units: int) -> None:
        """Add a value whose bucket and fixed-point sum were computed once by the caller.

        ``index`` must be ``bucket_index(x)`` and ``units`` ``round(x * SUM_SCALE)``: the fold
        adds one event to several windows and computes the logarithm only once.
        """
        self.count += 1
        self._sum += units
        if x < self._min:
            self._min = x
        if x > self._max:
            self._max = x
        bins = self.bins
        bins[index] = bins.get(index, 0) + 1

    def update(self, other: LatencySketch) -> None:
        """Merge ``other`` into this sketch in place."""
        if not other.count:
            return
        self.count += other.count
        self._sum += other._sum
        if other._min < self._min:
            self._min = other._min
        if other._max > self._max:
            self._max = other._max
        bins = self.bins
        if not bins:
            bins.update(other.bins)
            return
        get = bins.get
        for index, n in other.bins.items():
            bins[index] = get(index, 0) + n

    def merge(self, other: LatencySketch) -> LatencySketch:
        """A new sketch holding both (neither input changes)."""
        merged = self.copy()
        merged.update(other)
        return merged

    def copy(self) -> LatencySketch:
        clone = LatencySketch()
        clone.count = self.count
        clone._sum = self._sum
        clone._min = self._min
        clone._max = self._max
        clone.bins = dict(self.bins)
        return clone

    # -- reading -------------------------------------------------------------------------

    @property
    def min(self) -> float | None:
        return self._min if self.count else None

    @property
    def max(self) -> float | None:
        return self._max if self.count else None

    @property
    def sum(self) -> float:
        return self._sum / SUM_SCALE

    @property
    def mean(self) -> float | None:
        return self._sum / SUM_SCALE / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The value of rank ``floor(q * (count - 1))`` (0-based) within ``ALPHA``; None if empty.

        ``quantile(0)`` and ``quantile(1)`` are the exact minimum and maximum.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1], not {q!r}")
        if not self.count:
            return None
        if q == 0.0:
            return self._min
        if q == 1.0:
            return self._max
        rank = math.floor(q * (self.count - 1))
        seen = 0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen > rank:
                return min(max(bucket_value(index), self._min), self._max)
        return self._max  # unreachable: the bins add up to count

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        return [self.quantile(q) for q in qs]

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON form: ``bins`` is a list of ``[index, count]`` sorted by index."""
        zero = self.bins.get(ZERO_KEY, 0)
        return {
            "count": self.count,
            "sum": self._sum,
            "min": self.min,
            "max": self.max,
            "zero": zero,
            "bins": [[i, n] for i, n in sorted(self.bins.items()) if i != ZERO_KEY],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencySketch:
        sketch = cls()
        sketch.count = int(data.get("count", 0))
        sketch._sum = int(data.get("sum", 0))
        low, high = data.get("min"), data.get("max")
        sketch._min = _INF if low is None else float(low)
        sketch._max = -_INF if high is None else float(high)
        bins = {int(i): int(n) for i, n in data.get("bins", ())}
        zero = int(data.get("zero", 0))
        if zero:
            bins[ZERO_KEY] = zero
        if sum(bins.values()) != sketch.count:
            raise ValueError("sketch bins do not add up to its count")
        sketch.bins = bins
        return sketch

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencySketch):
            return NotImplemented
        return (
            self.count == other.count
            and self._sum == other._sum
            and self.bins == other.bins
            and (not self.count or (self._min == other._min and self._max == other._max))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, min={self.min}, max={self.max})"
