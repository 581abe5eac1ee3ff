"""Tumbling UTC windows: boundaries, Monday weeks, time zones and naive datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.metrics.windows import (
    WINDOW_SECONDS,
    Window,
    WindowKey,
    WindowKind,
    epoch_micros,
    epoch_seconds,
    from_epoch_us,
    window_for,
)

H, D, W = WindowKind.HOURLY, WindowKind.DAILY, WindowKind.WEEKLY


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> datetime:
    second, micro = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def test_hourly_window_holds_its_start_and_not_its_end() -> None:
    window = window_for(H, utc(2024, 3, 5, 10, 0))
    assert window == Window(H, utc(2024, 3, 5, 10), utc(2024, 3, 5, 11))
    assert window_for(H, utc(2024, 3, 5, 10, 59, 59, 999_999)) == window
    assert window_for(H, utc(2024, 3, 5, 11)).start == utc(2024, 3, 5, 11)
    assert utc(2024, 3, 5, 10) in window and utc(2024, 3, 5, 11) not in window


def test_an_event_at_a_boundary_belongs_to_the_next_window() -> None:
    midnight = utc(2024, 3, 6)
    for kind in (H, D):
        assert window_for(kind, midnight).start == midnight
        assert window_for(kind, midnight - timedelta(microseconds=1)).end == midnight


def test_daily_windows_are_utc_days() -> None:
    assert window_for(D, utc(2024, 2, 29, 23, 59)) == Window(D, utc(2024, 2, 29), utc(2024, 3, 1))


def test_weeks_start_on_monday_at_midnight_utc() -> None:
    # 2024-01-01 was a Monday, 2024-01-07 a Sunday.
    week = Window(W, utc(2024, 1, 1), utc(2024, 1, 8))
    assert window_for(W, utc(2024, 1, 1)) == week
    assert window_for(W, utc(2024, 1, 4, 12)) == week
    assert window_for(W, utc(2024, 1, 7, 23, 59, 59, 999_999)) == week
    assert window_for(W, utc(2024, 1, 8)).start == utc(2024, 1, 8)


def test_the_epoch_thursday_falls_in_the_week_of_monday_29_december_1969() -> None:
    assert utc(1970, 1, 1).weekday() == 3
    assert window_for(W, utc(1970, 1, 1)).start == utc(1969, 12, 29)
    assert window_for(W, utc(1970, 1, 5)).start == utc(1970, 1, 5)


def test_aware_datetimes_in_other_zones_are_converted() -> None:
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2024, 1, 1, 1, 30, tzinfo=plus_two)  # 2023-12-31 23:30 UTC
    assert window_for(D, moment) == Window(D, utc(2023, 12, 31), utc(2024, 1, 1))
    assert window_for(H, moment).start == utc(2023, 12, 31, 23)
    assert window_for(W, moment).start == utc(2023, 12, 25)
    assert moment in window_for(H, moment)


def test_naive_datetimes_are_read_as_utc() -> None:
    naive = datetime(2024, 1, 1, 23, 30)
    assert window_for(D, naive) == window_for(D, naive.replace(tzinfo=UTC))
    assert epoch_seconds(naive) == epoch_seconds(naive.replace(tzinfo=UTC))
    assert naive in window_for(H, naive)


@settings(deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1960, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
        ),
    ),
    st.sampled_from(list(WindowKind)),
)
def test_every_instant_falls_in_exactly_one_aligned_window(
    moment: datetime, kind: WindowKind
) -> None:
    window = window_for(kind, moment)
    assert window.start <= moment < window.end
    assert window.end - window.start == timedelta(seconds=WINDOW_SECONDS[kind])
    assert window.start.tzinfo is UTC
    assert (window.start.minute, window.start.second, window.start.microsecond) == (0, 0, 0)
    if kind is not H:
        assert window.start.hour == 0
    if kind is W:
        assert window.start.weekday() == 0
    assert window_for(kind, window.end).start == window.end
    assert window_for(kind, window.end - timedelta(microseconds=1)) == window
    assert from_epoch_us(epoch_micros(moment)) == moment


def test_keys_round_trip() -> None:
    key = WindowKey.of(W, utc(2024, 1, 3, 5))
    assert key == WindowKey("weekly", epoch_seconds(utc(2024, 1, 1)))
    assert key.end == key.start + 7 * 86400
    assert WindowKey.parse(key.to_str()) == key
    assert key.to_str() == "weekly:1704067200"
    assert key.window().key == key
    assert key.window().to_dict() == {
        "kind": "weekly",
        "start": "2024-01-01T00:00:00+00:00",
        "end": "2024-01-08T00:00:00+00:00",
    }
    with pytest.raises(ValueError):
        WindowKey.parse("monthly:0")
