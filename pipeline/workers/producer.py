"""A Faust producer that waits for every in-sync replica and never writes a record twice, and
reconnects to a broker that does not answer with a backoff (``pipeline.workers.reconnect``).

Faust (faust-streaming 0.15.3) asks aiokafka for ``acks`` from ``producer_acks`` but turns
idempotence on only inside transactions (``Producer._settings_extra``). With replicated topics
a broker that dies after writing a batch and before answering makes the producer send it again:
without idempotence the partition then holds it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer

from pipeline.broker.connection import DURABLE_PRODUCER_OPTIONS
from pipeline.workers.reconnect import use_reconnect_backoff


class DurableProducer(Producer):  # type: ignore[misc]
    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), **DURABLE_PRODUCER_OPTIONS}

    def _new_producer(self, transactional_id: str | None = None) -> Any:
        producer = super()._new_producer(transactional_id=transactional_id)
        use_reconnect_backoff(producer.client, getattr(self.app, "reconnect_policy", None))
        return producer


def use_durable_producer(app: faust.App) -> None:
    """Make ``app`` produce with :class:`DurableProducer` (before it starts)."""
    app.transport.Producer = DurableProducer  # type: ignore[misc]
