"""``codegen status --serve-prometheus PORT``: the lag of every worker group as gauges.

One exporter sees every partition, also those no worker owns (a stage scaled to zero), which
per-worker gauges cannot show: what an autoscaler needs to scale a stage up from nothing."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from pipeline.broker.status import PipelineStatus, collect_status
from pipeline.settings import Settings

log = logging.getLogger(__name__)


class LagGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "codegen_consumer_lag",
            "Records waiting for a worker group, by stage, topic and partition.",
            ["stage", "topic", "partition"],
            registry=registry,
        )
        self.total = Gauge(
            "codegen_consumer_lag_total",
            "Records waiting for a worker group, by stage.",
            ["stage"],
            registry=registry,
        )
        self.oldest = Gauge(
            "codegen_oldest_waiting_seconds",
            "Age of a worker group's oldest unprocessed record (0: none waiting).",
            ["stage"],
            registry=registry,
        )
        self.members = Gauge(
            "codegen_group_members", "Members of a worker group.", ["stage"], registry=registry
        )

    def update(self, status: PipelineStatus) -> None:
        for group in status.groups:
            for row in group.partitions:
                self.lag.labels(group.worker, row.topic, str(row.partition)).set(row.lag)
            self.total.labels(group.worker).set(group.lag)
            self.oldest.labels(group.worker).set(group.oldest_waiting_seconds or 0.0)
            self.members.labels(group.worker).set(len(group.members))


def export_lag(settings: Settings, port: int, interval: float) -> None:
    """Serve the gauges on ``port`` and refresh them every ``interval`` seconds until killed."""
    registry = CollectorRegistry()
    gauges = LagGauges(registry)
    start_http_server(port, addr="0.0.0.0", registry=registry)
    log.warning("serving consumer lag on :%d/metrics", port)
    while True:
        try:
            gauges.update(asyncio.run(collect_status(settings)))
        except (KafkaError, OSError) as error:
            log.warning("cannot read the consumer groups: %s", error)
        time.sleep(interval)
