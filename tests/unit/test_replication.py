"""Replication: what every topic and producer of the project asks of the cluster."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import ClusterAuthorizationFailedError

from pipeline.broker.admin import Replication, cluster_replication, topic_configs
from pipeline.settings import Settings
from pipeline.workers.faust_app import changelog_configs, faust_options
from pipeline.workers.stage_app import create_stage_app


class FakeAdmin:
    """Answers describe_cluster and describe_configs as a cluster of ``brokers`` would."""

    def __init__(self, brokers: int, default_replication: int) -> None:
        self.brokers = brokers
        self.default_replication = default_replication

    async def describe_cluster(self) -> dict[str, Any]:
        nodes = [{"node_id": i, "host": "h", "port": 9092} for i in range(1, self.brokers + 1)]
        return {"brokers": nodes, "controller_id": 2}

    async def describe_configs(self, resources: list[Any]) -> list[Any]:
        (resource,) = resources
        assert int(resource.name) <= self.brokers
        assert "default.replication.factor" in resource.configs
        entries = [("default.replication.factor", str(self.default_replication), False)]
        return [SimpleNamespace(resources=[(0, None, 4, resource.name, entries)])]


@pytest.mark.parametrize(
    ("brokers", "default", "setting", "expected"),
    [
        (3, 3, None, 3),  # the cluster's default.replication.factor
        (3, 1, None, 1),
        (1, 3, None, 1),  # capped by the brokers there are
        (3, 3, 2, 2),  # the setting wins
        (2, 1, 3, 2),  # capped too
    ],
)
async def test_the_replication_factor(
    brokers: int, default: int, setting: int | None, expected: int
) -> None:
    admin: Any = FakeAdmin(brokers, default)
    settings = Settings(_env_file=None, replication_factor=setting, min_insync_replicas=2)
    replication = await cluster_replication(admin, settings)
    assert replication.factor == expected
    assert replication.brokers == brokers
    assert replication.min_insync == min(2, expected)


async def test_a_cluster_that_keeps_its_configs_gets_three_replicas_or_all_brokers() -> None:
    class Refusing(FakeAdmin):
        async def describe_configs(self, resources: list[Any]) -> list[Any]:
            raise ClusterAuthorizationFailedError("not allowed")

    settings = Settings(_env_file=None)
    five: Any = Refusing(5, 1)
    two: Any = Refusing(2, 1)
    assert (await cluster_replication(five, settings)).factor == 3
    assert (await cluster_replication(two, settings)).factor == 2


def test_min_insync_replicas_reaches_every_topic_only_when_set() -> None:
    assert topic_configs(1000, Replication(3, 2, 3))["min.insync.replicas"] == "2"
    assert "min.insync.replicas" not in topic_configs(1000, Replication(3, None, 3))
    assert changelog_configs(Settings(_env_file=None, min_insync_replicas=2)) == {
        "min.insync.replicas": "2"
    }


def test_faust_changelog_topics_take_the_replication_factor() -> None:
    options = faust_options(Settings(_env_file=None, bootstrap_servers="k:9092",
                                     replication_factor=3))  # fmt: skip
    assert options["topic_replication_factor"] == 3
    assert options["producer_acks"] == -1


async def test_the_workers_producer_waits_for_all_replicas_and_is_idempotent() -> None:
    """Guards the Faust hook the durable producer overrides (``Producer._settings_extra``)."""
    app = create_stage_app("extract", Settings(_env_file=None, bootstrap_servers="k:9092"))
    producer = app.producer._new_producer()
    assert producer._txn_manager is not None, "idempotence is off"
    assert producer.client is not None
    assert producer._sender._acks == -1
