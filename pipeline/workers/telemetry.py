"""Prometheus metrics of a worker process (``CODEGEN_PROMETHEUS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECORDS = Counter(
    "codegen_records_total", "Records handled, by stage and outcome.", ["stage", "outcome"]
)
DURATION = Histogram(
    "codegen_record_seconds",
    "Time to handle one record, by stage.",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
OUTCOME_OF_TOPIC = {"failed": "failed", "repairs": "retry", "redelivered": "redelivered"}


def observe(stage: str, output_topic: str, seconds: float) -> None:
    RECORDS.labels(stage, OUTCOME_OF_TOPIC.get(output_topic, "ok")).inc()
    DURATION.labels(stage).observe(seconds)
