"""The store's ledger in Kafka: a Faust table whose changelog is the compacted
``store-ledger`` topic, keyed by request id and partitioned like ``verified``.

A store worker owns the ledger partitions numbered like the ``verified`` partitions it
consumes (Faust assigns topics of the same partition count together), reads them back from
the topic when they are assigned, before it handles a record of them (table recovery), and
writes each entry as a record of that topic (``acks=all``, like every record it produces). So
a redelivery on another host, or after a restart, finds the entry: deduplication holds across
hosts without a shared disk. A tombstone (a record without value) forgets an id.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, cast

import faust
from aiokafka.partitioner import DefaultPartitioner

from pipeline.catalogue import STAGE_INPUTS, TOPICS, topic_name
from pipeline.settings import Settings
from pipeline.stages.store.ledger import MappingLedger

LEDGER_TOPIC = "store-ledger"

_partitioner = DefaultPartitioner()


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key``: the one the store's input
    record of the same request id is on (it is keyed by the id and has as many)."""
    every = list(range(partitions))
    return int(_partitioner(key, every, every))


class LedgerTable(faust.Table[bytes, bytes]):  # type: ignore[misc]
    """A table whose entries go to their key's partition, not the current event's: the
    ledger is written from the store's processing and from acknowledgements, where Faust
    has no current event to take the partition from."""

    def partition_for_key(self, key: Any) -> int:
        return key_partition(key, self.partitions or TOPICS[LEDGER_TOPIC].partitions)


def kafka_ledger(app: faust.App, settings: Settings) -> MappingLedger:
    """The Kafka-backed ledger of the store worker ``app`` (add it before the app starts)."""
    spec = TOPICS[LEDGER_TOPIC]
    if TOPICS[STAGE_INPUTS["store"]].partitions != spec.partitions:
        raise ValueError(f"{LEDGER_TOPIC} must have as many partitions as the store's input")
    name = topic_name(LEDGER_TOPIC, settings.topic_prefix)
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}  # serialised as they are
    changelog = app.topic(
        name,
        partitions=spec.partitions,
        compacting=True,
        deleting=False,
        acks=False,  # read by the table's recovery, never committed
        allow_empty=True,  # tombstones
        key_serializer="raw",
        value_serializer="raw",
        **raw,
    )
    table = app.tables.add(
        LedgerTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=spec.partitions,
            changelog_topic=changelog,
            help="The store's request ledger.",
            **raw,
        )
    )
    return MappingLedger(cast(MutableMapping[bytes, bytes], table))
