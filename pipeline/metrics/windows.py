"""Tumbling event-time windows: hourly, daily and weekly, all in UTC.

A window covers ``[start, end)``: an event exactly at a boundary belongs to the window that starts
there. Hourly and daily windows are aligned to the Unix epoch (so to UTC hours and midnights).
Weekly windows start on Monday 00:00 UTC (ISO 8601 weeks), not on the epoch's weekday: the epoch,
1970-01-01, was a Thursday, so week starts are ``1970-01-05 + k * 7 days``.

Naive datetimes (no ``tzinfo``) are read as UTC, the convention of every record in the pipeline,
rather than rejected: one record from a careless producer must not stop the metrics reducer.
Aware datetimes in any zone are converted to UTC.

Inside the reducer a window is a :class:`WindowKey` ``(kind, start)`` with ``start`` in whole
seconds since the epoch (cheap to hash and compare); :class:`Window` is the datetime view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple


class WindowKind(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


HOUR = 3600
DAY = 86400
WEEK = 604800
WINDOW_SECONDS: dict[str, int] = {
    WindowKind.HOURLY: HOUR,
    WindowKind.DAILY: DAY,
    WindowKind.WEEKLY: WEEK,
}
WINDOW_OFFSETS: dict[str, int] = {
    WindowKind.HOURLY: 0,
    WindowKind.DAILY: 0,
    WindowKind.WEEKLY: 4 * DAY,  # 1970-01-05, the first Monday after the epoch
}
ALL_KINDS: tuple[WindowKind, ...] = tuple(WindowKind)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def epoch_seconds(moment: datetime) -> int:
    """Whole seconds since the epoch, rounded down (exact, no float)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return delta.days * DAY + delta.seconds


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the epoch (exact, no float)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * DAY + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def window_start(kind: str, seconds: int) -> int:
    """Start (epoch seconds) of the ``kind`` window holding the instant ``seconds``."""
    size = WINDOW_SECONDS[kind]
    return seconds - (seconds - WINDOW_OFFSETS[kind]) % size


class WindowKey(NamedTuple):
    """A window as a table key: its kind and its start in epoch seconds."""

    kind: str
    start: int

    @property
    def end(self) -> int:
        """Exclusive end, epoch seconds."""
        return self.start + WINDOW_SECONDS[self.kind]

    def window(self) -> Window:
        return Window(WindowKind(self.kind), from_epoch(self.start), from_epoch(self.end))

    def to_str(self) -> str:
        """``"hourly:1704067200"``: a string form for tables with string keys."""
        return f"{self.kind}:{self.start}"

    @classmethod
    def parse(cls, text: str) -> WindowKey:
        kind, _, start = text.partition(":")
        return cls(WindowKind(kind).value, int(start))

    @classmethod
    def of(cls, kind: str, moment: datetime) -> WindowKey:
        kind = WindowKind(kind).value
        return cls(kind, window_start(kind, epoch_seconds(moment)))


@dataclass(frozen=True, slots=True)
class Window:
    """A window with UTC datetimes; ``end`` is exclusive."""

    kind: WindowKind
    start: datetime
    end: datetime

    @property
    def key(self) -> WindowKey:
        return WindowKey(self.kind.value, epoch_seconds(self.start))

    def __contains__(self, moment: object) -> bool:
        if not isinstance(moment, datetime):
            return False
        return self.start <= as_utc(moment) < self.end

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def window_for(kind: str, event_time: datetime) -> Window:
    """The ``kind`` window holding ``event_time`` (naive means UTC)."""
    return WindowKey.of(kind, event_time).window()


def windows_for(event_time: datetime, kinds: tuple[str, ...] = ALL_KINDS) -> list[Window]:
    return [window_for(kind, event_time) for kind in kinds]


def from_epoch_us(micros: int) -> datetime:
    """The UTC datetime ``micros`` microseconds after the epoch (exact)."""
    return EPOCH + timedelta(microseconds=micros)
