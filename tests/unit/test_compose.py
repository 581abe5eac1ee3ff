"""docker-compose.yml: one service per stage, scalable, and valid for `docker compose config`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.catalogue import STAGES, WORKERS
from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_every_stage_has_a_scalable_worker_service() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"kafka", "topics", *WORKERS} <= services.keys()
    for stage in WORKERS:
        service = services[stage]
        assert service["command"] == ["worker", stage]
        assert "container_name" not in service and "ports" not in service, "would block --scale"
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft mode"


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(STAGES) <= services.keys()


def test_compose_waits_longer_than_a_worker_takes_to_stop() -> None:
    anchor = yaml.safe_load(COMPOSE.read_text())["x-worker"]
    grace = anchor["stop_grace_period"]
    assert grace.endswith("s")
    drain = float(anchor["environment"].get("CODEGEN_DRAIN_SECONDS", Settings().drain_seconds))
    assert float(grace[:-1]) > Settings(_env_file=None, drain_seconds=drain).stop_deadline


def test_every_worker_is_healthy_only_when_ready() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    anchor = document["x-worker"]
    port = anchor["environment"]["CODEGEN_PROMETHEUS_PORT"]
    probe = " ".join(anchor["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in probe
    for worker in WORKERS:
        service = document["services"][worker]
        assert service["healthcheck"] == anchor["healthcheck"]
        # A service with settings of its own still serves the endpoint the probe asks.
        assert service["environment"].items() >= anchor["environment"].items(), worker
