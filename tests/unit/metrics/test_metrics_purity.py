"""The metrics package is pure: no clock, no I/O; its time comes from the events."""

from __future__ import annotations

import ast
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import pipeline.metrics
from pipeline.metrics import MetricsReducer, WindowKey, WindowState
from pipeline.records import Intent

from .helpers import T0, failed, stored

PACKAGE = Path(pipeline.metrics.__file__).parent
FORBIDDEN_MODULES = {
    "time", "os", "io", "sys", "socket", "random", "secrets", "pathlib", "subprocess",
    "asyncio", "threading", "logging", "faust", "aiokafka", "httpx", "shutil", "tempfile",
}  # fmt: skip
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open", "uuid4"}


def sources() -> list[Path]:
    found = sorted(PACKAGE.glob("*.py"))
    assert {p.name for p in found} >= {"sketch.py", "windows.py", "state.py", "reducer.py"}
    return found


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_no_clock_or_io_in_the_source(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert called not in FORBIDDEN_CALLS, f"{path.name} calls {called}()"


def test_reducing_and_closing_read_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = [(failed if i % 2 else stored)(at=T0 + timedelta(minutes=i)) for i in range(40)]

    def clock() -> float:
        raise AssertionError("the metrics reducer read the clock")

    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter"):
        monkeypatch.setattr(time, name, clock)
    reducer = MetricsReducer()
    states: dict[WindowKey, WindowState] = {}
    intents: list[Intent] = []
    watermark = None
    for item in stream:
        result = reducer.reduce(item, states, watermark)
        states.update(result.updates)
        intents += result.intents
        watermark = result.watermark
    batch = reducer.reduce_batch(stream, {}, None)
    assert watermark is not None
    for key in reducer.closed_windows(states, watermark + timedelta(days=30)):
        intents += reducer.close(key, states.pop(key))
    monkeypatch.undo()
    # Every timestamp comes from the events: alerts at an event time, closes at a window end.
    event_times = {item.event_time for item in stream}
    for intent in intents + batch.intents:
        assert intent.created_at in event_times or intent.created_at.minute == 0
        assert intent.created_at < datetime(2024, 2, 1, tzinfo=UTC)
    assert len(intents) == 3 + 6
    assert all(isinstance(s, WindowState) for s in batch.updates.values())
