"""Shared fixtures: a session-scoped real Kafka broker and factories around it.

The broker is, in order of preference: the cluster named by KAFKA_BOOTSTRAP_SERVERS; a
testcontainers Kafka when a Docker engine answers; otherwise a real Apache Kafka started
from Maven Central jars on free loopback ports. Integration tests never skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker, free_port
from pipeline.client import PipelineClient
from pipeline.records import GenerationRequest
from pipeline.settings import DEPLOYMENT_SETTINGS, Settings
from pipeline.stages.inject import inject_bodies
from pipeline.workers.supervisor import Supervisor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def expected_source(request: GenerationRequest) -> str:
    """The module a request of the provided generator ends as: with the bodies of its last
    attempt (an example whose first bodies fail its tests is repaired once)."""
    return inject_bodies(request.source, request.bodies_for(1 + len(request.later_bodies))).source


def _docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(
                ["docker", "info"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(
        "CODEGEN_BOOTSTRAP_SERVERS"
    )
    if configured:
        yield configured
        return
    if _docker_engine_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.0").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    broker = LocalBroker(
        tmp_path_factory.mktemp("kafka"),
        port=free_port(),
        controller_port=free_port(),
        jars_dir=ROOT / ".kafka" / "libs",
    )
    broker.start(timeout=180)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A local 3-node KRaft cluster (replication factor 3, min.insync.replicas 2) of the
    module's tests: they may kill and restart its nodes."""
    cluster = LocalBroker(
        tmp_path_factory.mktemp("kafka-cluster"),
        ports=[(free_port(), free_port()) for _ in range(3)],
        heap="384m",
        jars_dir=ROOT / ".kafka" / "libs",
    )
    try:
        cluster.start(timeout=240)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of the test's own, on free ports: the test may stop and restart it."""
    broker = LocalBroker(
        tmp_path / "kafka",
        port=free_port(),
        controller_port=free_port(),
        jars_dir=ROOT / ".kafka" / "libs",
    )
    broker.start(timeout=180)
    yield broker
    broker.stop()


@pytest.fixture
def settings_factory(kafka_bootstrap: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the test broker with a fresh topic prefix, store root and state dir."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "bootstrap_servers": kafka_bootstrap,
            "topic_prefix": f"t{uuid.uuid4().hex[:10]}.",
            "store_root": tmp_path / "store",
            "state_dir": tmp_path / "state",
            "metrics_dir": tmp_path / "metrics",
            "metrics_web_port": free_port(),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def pipeline_settings(settings_factory: Callable[..., Settings]) -> Settings:
    settings = settings_factory()
    await ensure_topics(settings)
    return settings


# Settings passed on to worker processes when a test set them explicitly.
PASSED_THROUGH = ("max_attempts", "generate_concurrency", "concurrency", "processing_retries")


def settings_env(settings: Settings) -> dict[str, str]:
    explicit = [
        name
        for name in sorted(settings.model_fields_set)
        if getattr(settings, name) is not None
        and (name.startswith(("openai_", "verify_")) or name in PASSED_THROUGH)
    ]
    return {
        **settings.environment(*DEPLOYMENT_SETTINGS, *explicit),
        "CODEGEN_WORKER_LOG_LEVEL": "warning",
    }


@pytest.fixture
def workers_factory() -> Iterator[Callable[..., Supervisor]]:
    """Start stage workers as separate OS processes; all are stopped after the test."""
    started: list[Supervisor] = []

    def start(
        settings: Settings,
        counts: dict[str, int] | None = None,
        env: dict[str, str] | None = None,
    ) -> Supervisor:
        """Every worker once by default; ``env`` adds variables (e.g. Faust's
        ``BROKER_SESSION_TIMEOUT``)."""
        environment = {**settings_env(settings), **(env or {})}
        supervisor = (
            Supervisor(env=environment) if counts is None else Supervisor(counts, env=environment)
        )
        supervisor.start()
        started.append(supervisor)
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()


@pytest.fixture
async def client_factory() -> AsyncIterator[Callable[[Settings], Any]]:
    clients: list[PipelineClient] = []

    async def make(settings: Settings) -> PipelineClient:
        client = PipelineClient(settings)
        await client.start()
        clients.append(client)
        return client

    yield make
    await asyncio.gather(*(c.stop() for c in clients))


@pytest.fixture(scope="session", autouse=True)
def _type_checker_servers() -> Iterator[None]:
    """The ``ty server`` processes the ``types`` rule starts end with the test session."""
    yield
    from pipeline.stages.validate.ty_server import close_all

    close_all()
