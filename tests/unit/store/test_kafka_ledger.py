"""The store worker's ledger in Kafka: a table on the compacted ``store-ledger`` topic,
partitioned like the store's input. Built without a broker (the app is not started)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from pipeline.broker.admin import Replication, topic_configs
from pipeline.catalogue import TOPICS, catalogue_document
from pipeline.settings import Settings, StoreLedger
from pipeline.workers.stage_app import create_stage_app
from pipeline.workers.store_ledger import LEDGER_TOPIC, LedgerTable, key_partition


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
