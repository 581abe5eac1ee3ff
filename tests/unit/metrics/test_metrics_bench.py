"""The reducer benchmark runs and writes its report (a tiny smoke run)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_reducer import main, synthetic_events
from pipeline.catalogue import STAGES


def test_synthetic_events_are_spread_and_sorted() -> None:
    events = synthetic_events(500)
    assert len(events) == 500
    assert {e.stage for e in events} == set(STAGES)
    assert events == sorted(events, key=lambda e: e.event_time)
    assert any(e.end_to_end_ms is not None for e in events)


def test_the_benchmark_writes_its_report(tmp_path: Path) -> None:
    output = tmp_path / "results" / "reducer.json"
    assert main(["--events", "2000", "--runs", "1", "--batch", "100", "--output", str(output)]) == 0
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["events"] == 2000
    assert set(report["results"]) == {"prepare", "fold", "reduce", "fold_batch", "reduce_batch"}
    assert report["results"]["fold"]["events_per_second"] > 0
    assert set(report["windows"]) == {"hourly", "daily", "weekly"}
