"""The local broker's errors are clear, without starting Kafka."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipeline.broker import local
from pipeline.broker.local import BrokerError, LocalBroker


def test_missing_java_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match="Java 17 or newer"):
        LocalBroker(tmp_path, port=local.free_port(), controller_port=local.free_port()).start()


def test_missing_maven_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(BrokerError, match=r"Maven \(mvn\)"):
        LocalBroker(tmp_path, jars_dir=tmp_path / "no-jars").ensure_jars()


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = LocalBroker(tmp_path, port=port, controller_port=local.free_port())
        with pytest.raises(BrokerError, match=f"port {port} .* is taken"):
            broker.start()


def test_status_of_a_broker_that_never_ran(tmp_path: Path) -> None:
    status = LocalBroker(tmp_path, port=1234).status()
    assert not status.running and status.pid is None and status.bootstrap == "127.0.0.1:1234"


def test_a_stale_pid_file_is_not_a_running_broker(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    broker.pid_file.write_text("999999")
    assert not broker.status().running


def test_cluster_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """One random id in 64 would, and the storage tool would read it as an option."""
    import uuid

    dashed = uuid.UUID(bytes=b"\xfb" + bytes(15))  # base64url "-w..."
    plain = uuid.UUID(bytes=bytes(16))
    draws = iter([dashed, plain])
    monkeypatch.setattr(local.uuid, "uuid4", lambda: next(draws))
    cluster_id = local.new_cluster_id()
    assert cluster_id == "AAAAAAAAAAAAAAAAAAAAAA"


def test_a_three_node_cluster_is_laid_out_per_node(tmp_path: Path) -> None:
    cluster = LocalBroker(tmp_path, port=19092, controller_port=19093, nodes=3)
    assert cluster.bootstrap == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
    assert [n.directory.name for n in cluster.nodes] == ["node-1", "node-2", "node-3"]
    config = cluster._write_config(cluster.node(2)).read_text()
    assert "node.id=2\n" in config
    assert (
        "controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097" in config
    )
    assert "listeners=PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095" in config
    for line in (
        "default.replication.factor=3",
        "min.insync.replicas=2",
        "offsets.topic.replication.factor=3",
        f"log.dirs={tmp_path}/node-2/data",
    ):
        assert line + "\n" in config, line  # fmt: skip
    assert local.formatted_nodes(tmp_path) is None
    for node in cluster.nodes:
        node.data.mkdir(parents=True)
        (node.data / "meta.properties").write_text("cluster.id=abc\n")
    assert local.formatted_nodes(tmp_path) == 3
    assert cluster._cluster_id() == "abc"


def test_a_single_node_keeps_its_files_where_they_always_were(tmp_path: Path) -> None:
    broker = LocalBroker(tmp_path, port=19092, controller_port=19093)
    assert broker.bootstrap == "127.0.0.1:19092"
    assert broker.data == tmp_path.resolve() / "data"
    config = broker._write_config(broker.nodes[0]).read_text()
    assert "default.replication.factor=1\n" in config and "min.insync.replicas=1\n" in config


def test_a_scram_listener_over_tls(tmp_path: Path) -> None:
    listener = local.ClientListener(
        protocol="SASL_SSL",
        scram_users=(("alice", "pw"),),
        keystore=tmp_path / "k.p12",
        keystore_password="s",
        cafile=tmp_path / "ca.pem",
    )
    properties = "\n".join(listener.properties())
    assert "sasl.enabled.mechanisms=SCRAM-SHA-512" in properties
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" in properties
    assert f"ssl.keystore.location={tmp_path / 'k.p12'}" in properties
    assert listener.format_arguments() == ["--add-scram", "SCRAM-SHA-512=[name=alice,password=pw]"]
    assert listener.settings()["sasl_username"] == "alice"


def test_plain_users_enable_plain_beside_scram(tmp_path: Path) -> None:
    listener = local.ClientListener(
        protocol="SASL_SSL",
        scram_users=(("alice", "pw"),),
        plain_users=(("alice", "pw"), ("bob", "b")),
        keystore=tmp_path / "k.p12",
    )
    properties = listener.properties()
    assert "sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN" in properties
    assert "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512" in properties
    assert (
        "listener.name.sasl_ssl.plain.sasl.jaas.config="
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'user_alice="pw" user_bob="b";'
    ) in properties
    assert listener.format_arguments() == ["--add-scram", "SCRAM-SHA-512=[name=alice,password=pw]"]
