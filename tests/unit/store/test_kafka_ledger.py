"""The store worker's ledger in Kafka: a table on the compacted ``store-ledger`` topic,
partitioned like the store's input. Built without a broker (the app is not started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from pipeline.broker.admin import Replication, topic_configs
from pipeline.catalogue import TOPICS, catalogue_document
from pipeline.records import StoreLedgerEntry
from pipeline.settings import Settings, StoreLedger
from pipeline.workers.faust_app import new_app
from pipeline.workers.stage_app import create_stage_app
from pipeline.workers.store_ledger import LEDGER_TOPIC, LedgerTable, kafka_ledger, key_partition


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        _env_file=None, store_root=tmp_path / "store", state_dir=tmp_path / "state", **values
    )


def test_kafka_is_the_default_ledger() -> None:
    assert Settings(_env_file=None).store_ledger is StoreLedger.KAFKA


def test_the_ledger_topic_is_compacted_and_partitioned_like_the_store_input() -> None:
    spec = TOPICS[LEDGER_TOPIC]
    assert spec.compacted and spec.partitions == TOPICS["verified"].partitions
    configs = topic_configs(spec.retention_ms, Replication(3, 2, 3), compacted=True)
    assert configs["cleanup.policy"] == "compact" and "retention.ms" not in configs
    assert configs["min.insync.replicas"] == "2"
    assert "cleanup.policy" not in topic_configs(1000, Replication(1, None, 1))
    described = {t["name"]: t for t in catalogue_document()["topics"]}
    assert described["codegen.store-ledger"]["cleanup_policy"] == "compact"


def test_the_store_worker_keeps_its_ledger_in_a_table_on_the_ledger_topic(
    tmp_path: Path,
) -> None:
    app = create_stage_app("store", settings(tmp_path, topic_prefix="t."))
    (table,) = app.tables.values()
    assert isinstance(table, LedgerTable)
    assert table.changelog_topic.get_topic_name() == "t.store-ledger"
    assert table.changelog_topic.compacting
    assert table.partitions == 8


def test_with_files_the_store_worker_keeps_no_table(tmp_path: Path) -> None:
    app = create_stage_app("store", settings(tmp_path, store_ledger="files"))
    assert not list(app.tables.values())


@pytest.mark.parametrize("key", [b"a", b"request-1", "é-ß".encode(), b"x" * 200])
def test_an_entry_goes_to_the_partition_of_its_request(key: bytes) -> None:
    """As Kafka's default partitioner puts the store's input record keyed by the same id."""
    partitions = list(range(8))
    assert key_partition(key, 8) == DefaultPartitioner()(key, partitions, partitions)


def test_each_entry_is_a_record_of_the_ledger_topic_on_its_requests_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written outside any stream event (from the processing, from an acknowledgement):
    the table sends each change to the key's partition (``LedgerTable.partition_for_key``)."""
    app = new_app("t.store", settings(tmp_path))
    ledger = kafka_ledger(app, settings(tmp_path, topic_prefix="t."))
    futures: list[Any] = []
    monkeypatch.setattr(app.producer, "send_soon", futures.append)
    entry = StoreLedgerEntry(
        request_id="shared", requested_path="a.py", relative_path="a.py", sha256="0" * 64, bytes=1
    )
    ledger.record(entry)
    ledger.mark_delivered("shared")
    assert ledger.lookup("shared") == entry.model_copy(update={"delivered": True})
    sent = [future.message for future in futures]
    assert [(m.channel.get_topic_name(), m.partition, m.key) for m in sent] == [
        ("t.store-ledger", key_partition(b"shared", 8), b"shared")
    ] * 2
    assert [StoreLedgerEntry.model_validate_json(m.value).delivered for m in sent] == [False, True]
