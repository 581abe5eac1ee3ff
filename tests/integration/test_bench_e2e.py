"""The end-to-end benchmark runs on the test broker (a smoke test: no timing is checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_e2e import HOP_TOPICS, main

pytestmark = pytest.mark.integration


def test_e2e_benchmark_reports_every_run_and_every_hop(
    kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    output = tmp_path / "e2e.json"
    assert main(["--requests", "4", "--light", "3", "--output", str(output)]) == 0
    result = json.loads(output.read_text(encoding="utf-8"))
    assert result["in_process"]["requests"] == result["kafka"]["requests"] == 4
    assert result["light_load"]["requests"] == 3
    assert list(result["light_load"]["hop_ms"]) == list(HOP_TOPICS)
    for hop in result["light_load"]["hop_ms"].values():
        assert 0 < hop["p50"] <= hop["p95"] <= hop["p99"]
    assert result["per_hop_direct_ms_p50"] > 0
    assert result["throughput_ratio"] > 0
    markdown = output.with_suffix(".md").read_text(encoding="utf-8")
    assert all(f"| {topic} |" in markdown for topic in HOP_TOPICS)
