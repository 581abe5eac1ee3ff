"""`codegen broker start|status|stop` on a real broker: data survives a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.broker.local import LocalBroker, free_port, port_free
from tests.fixtures import ROOT

pytestmark = pytest.mark.integration


def codegen(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )


def local_broker_env(
    tmp_path: Path, port: int, controller_port: int, **extra: str
) -> dict[str, str]:
    """The environment of commands on a local broker in ``tmp_path/kafka``, whose jars are the
    test session's (not fetched again)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KAFKA_BOOTSTRAP_SERVERS", "CODEGEN_BOOTSTRAP_SERVERS")
    }
    env.update(
        CODEGEN_BROKER_DIR=str(tmp_path / "kafka"),
        CODEGEN_BROKER_PORT=str(port),
        CODEGEN_CONTROLLER_PORT=str(controller_port),
        **extra,
    )
    LocalBroker(tmp_path, jars_dir=ROOT / ".kafka" / "libs").ensure_jars()
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "libs").symlink_to(ROOT / ".kafka" / "libs")
    return env


def test_start_status_stop_and_restart_keep_the_data(tmp_path: Path) -> None:
    env = local_broker_env(tmp_path, free_port(), free_port())
    try:
        assert codegen(env, "broker", "status").returncode == 1
        started = codegen(env, "broker", "start")
        assert started.returncode == 0, started.stderr + started.stdout
        assert "Kafka is up" in started.stdout
        meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
        assert codegen(env, "topics", "create").returncode == 0
        assert codegen(env, "broker", "status").returncode == 0
        assert codegen(env, "broker", "stop").returncode == 0
        assert codegen(env, "broker", "status").returncode == 1
        again = codegen(env, "broker", "start")
        assert again.returncode == 0, again.stderr + again.stdout
        assert (tmp_path / "kafka" / "data" / "meta.properties").read_text() == meta
        recreated = codegen(env, "topics", "create")
        assert "created 0 topic(s)" in recreated.stdout, "the topics survived the restart"
    finally:
        codegen(env, "broker", "stop")


def free_port_block(size: int) -> int:
    """A port p with p … p + size - 1 all free."""
    for _ in range(100):
        base = free_port()
        if base + size < 65535 and all(port_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def test_a_three_node_cluster_and_topics_with_too_few_replicas(tmp_path: Path) -> None:
    port = free_port_block(6)  # node i: port + 2i, its controller port + 2i + 1
    env = local_broker_env(
        tmp_path,
        port,
        port + 1,
        CODEGEN_BROKER_HEAP="384m",
        CODEGEN_BROKER_NODES="3",
        CODEGEN_TOPIC_PREFIX="few.",
    )
    try:
        started = codegen(env, "broker", "start", "--nodes", "3")
        assert started.returncode == 0, started.stderr + started.stdout
        assert "(3 nodes)" in started.stdout
        status = codegen(env, "broker", "status")
        assert status.returncode == 0
        assert status.stdout.count("running (pid") == 3, status.stdout
        for node in (1, 2, 3):
            assert (tmp_path / "kafka" / f"node-{node}" / "data" / "meta.properties").exists()
        few = codegen({**env, "CODEGEN_REPLICATION_FACTOR": "1"}, "topics", "create")
        assert few.returncode == 0, few.stderr + few.stdout
        assert "replication factor 1 on 3 broker(s)" in few.stdout
        checked = codegen(env, "topics", "create")
        assert checked.returncode == 1, checked.stderr + checked.stdout
        assert "replication factor 3 on 3 broker(s)" in checked.stdout
        assert "few.requests" in checked.stderr
        assert "have fewer replicas than 3" in checked.stderr
    finally:
        codegen(env, "broker", "stop")
    assert codegen(env, "broker", "status").returncode == 1
