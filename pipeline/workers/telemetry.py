"""Prometheus metrics of a worker process (``CODEGEN_PROMETHEUS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from pipeline.catalogue import StageSpec

RECORDS = Counter(
    "codegen_records_total", "Records handled, by stage and outcome.", ["stage", "outcome"]
)
DURATION = Histogram(
    "codegen_record_seconds",
    "Time to handle one record, by stage.",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def observe(spec: StageSpec, output_topic: str, seconds: float) -> None:
    RECORDS.labels(spec.name, spec.outcome(output_topic)).inc()
    DURATION.labels(spec.name).observe(seconds)
