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
