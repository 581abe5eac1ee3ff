"""The whole pipeline on a real broker, every stage worker a separate OS process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.catalogue import topic_name
from pipeline.client import PipelineClient, build_request
from pipeline.records import FileStored, GenerationRequest, RequestFailed
from pipeline.settings import Settings
from pipeline.stages.inject import inject_bodies
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source, settings_env

pytestmark = pytest.mark.integration

RESULT_TIMEOUT = 240.0


def example_requests(count: int) -> list[GenerationRequest]:
    modules = sorted(EXAMPLES.glob("*.py"))
    requests = []
    for index in range(count):
        module = modules[index % len(modules)]
        requests.append(build_request(module, output_path=f"run/{index:02d}/{module.name}"))
    return requests


def expected_content(request: GenerationRequest) -> str:
    return expected_source(request)


async def test_twenty_requests_and_a_broken_one_reach_a_terminal_topic(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    client: PipelineClient = await client_factory(pipeline_settings)
    workers = workers_factory(pipeline_settings)
    requests = example_requests(20)
    broken = GenerationRequest(
        source="class Broken:\n    def method(self) -> None:\n        return (\n",
        output_path="run/broken.py",
    )
    for request in [*requests, broken]:
        await client.submit(request)

    results = {
        r.request_id: r
        async for r in client.results(
            [r.request_id for r in [*requests, broken]], timeout=RESULT_TIMEOUT
        )
    }

    assert len(results) == 21, "every request reaches stored or failed"
    for request in requests:
        result = results[request.request_id]
        assert isinstance(result, FileStored), result
        written = Path(result.artifact.path)
        assert written == (pipeline_settings.store_root / request.output_path).resolve()
        assert written.read_text(encoding="utf-8") == expected_content(request)
        assert result.filled == list(request.bodies)
    failure = results[broken.request_id]
    assert isinstance(failure, RequestFailed)
    assert failure.stage == "extract"
    assert failure.error_code == "SOURCE_SYNTAX_ERROR"
    assert "line" in failure.message
    assert not workers.exited(), "no worker died"


async def test_a_plain_json_producer_and_bad_records(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    """Records written by hand, not by the project's models or client, are processed."""
    client: PipelineClient = await client_factory(pipeline_settings)
    workers_factory(pipeline_settings)
    source = (EXAMPLES / "rate_limiter.py").read_text(encoding="utf-8")
    bodies = json.loads((EXAMPLES / "rate_limiter.bodies.json").read_text(encoding="utf-8"))
    hand_written = json.dumps(
        {
            "request_id": "plain-json-1",
            "submitted_at": "2026-01-01T00:00:00Z",
            "source": source,
            "output_path": "plain/rate_limiter.py",
            "bodies": bodies,
        }
    ).encode()
    producer = AIOKafkaProducer(bootstrap_servers=pipeline_settings.effective_bootstrap)
    await producer.start()
    requests_topic = topic_name("requests", pipeline_settings.topic_prefix)
    try:
        await producer.send_and_wait(requests_topic, b"not json at all", key=b"bad-json")
        await producer.send_and_wait(requests_topic, b"\xff\xfe\x00", key=b"bad-utf8")
        await producer.send_and_wait(requests_topic, b'{"source": "x = 1"}', key=b"bad-schema")
        await producer.send_and_wait(requests_topic, hand_written, key=b"plain-json-1")
    finally:
        await producer.stop()

    ids = ["bad-json", "bad-utf8", "bad-schema", "plain-json-1"]
    results = {r.request_id: r async for r in client.results(ids, timeout=RESULT_TIMEOUT)}

    expected_codes = {
        "bad-json": "NOT_JSON",
        "bad-utf8": "NOT_UTF8",
        "bad-schema": "SCHEMA_MISMATCH",
    }
    for request_id, code in expected_codes.items():
        failure = results[request_id]
        assert isinstance(failure, RequestFailed)
        assert failure.error_code == code
        assert failure.payload is not None
    assert "output_path" in results["bad-schema"].message  # type: ignore[union-attr]
    stored = results["plain-json-1"]
    assert isinstance(stored, FileStored)
    assert (
        Path(stored.artifact.path).read_text(encoding="utf-8")
        == inject_bodies(source, bodies).source
    )


async def test_the_submit_command_waits_for_each_outcome(
    pipeline_settings: Settings, workers_factory: Callable[..., Supervisor]
) -> None:
    workers_factory(pipeline_settings)
    env = {**os.environ, **settings_env(pipeline_settings)}
    single = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "pipeline",
            "submit",
            str(EXAMPLES / "inventory.py"),
            "--output",
            "cli/inventory.py",
            "--wait",
            "--timeout",
            "240",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert single.returncode == 0, single.stdout + single.stderr
    assert "stored" in single.stdout
    assert (pipeline_settings.store_root / "cli" / "inventory.py").exists()
    directory = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pipeline", "submit", str(EXAMPLES), "--wait", "--timeout", "240"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert directory.returncode == 0, directory.stdout + directory.stderr
    for module in EXAMPLES.glob("*.py"):
        assert (pipeline_settings.store_root / module.name).exists()
