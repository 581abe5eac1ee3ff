"""The README's kcat example, run as written against the test broker (its address and topic
prefix put in): the request it publishes is stored, and its reading command shows the result.

Where kcat is not installed, its ``-P`` part is played by a producer that sends one message
per line, as kcat does; the jq part always runs as written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGES, topic_name
from pipeline.client import PipelineClient
from pipeline.records import FileStored, decode
from pipeline.settings import Settings
from pipeline.stages.inject import inject_bodies
from pipeline.workers.supervisor import Supervisor
from tests.support.readme import README, jq_part, kcat_example, on

pytestmark = pytest.mark.integration


def shell(command: str) -> bytes:
    return subprocess.run(
        command, shell=True, cwd=README.parent, capture_output=True, check=True, timeout=60
    ).stdout


async def publish_as_kcat_would(settings: Settings, lines: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(settings))
    await producer.start()
    try:
        for line in lines.splitlines():
            await producer.send_and_wait(
                topic_name("requests", settings.topic_prefix), line, key=key
            )
    finally:
        await producer.stop()


async def test_the_kcat_example_stores_its_request(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
) -> None:
    settings = pipeline_settings
    client = await client_factory(settings)  # listening before the request goes out
    workers = workers_factory(settings, dict.fromkeys(STAGES, 1))
    publish, read = (
        on(command, settings.effective_bootstrap, settings.topic_prefix)
        for command in kcat_example()
    )
    if shutil.which("kcat"):
        shell(publish)
    else:
        await publish_as_kcat_would(settings, shell(jq_part(publish)), b"r1")

    result = await client.wait_for("r1", timeout=180)
    assert isinstance(result, FileStored), result
    example = README.parent / "examples"
    bodies = json.loads((example / "inventory.bodies.json").read_text())
    expected = inject_bodies((example / "inventory.py").read_text(), bodies).source
    assert (settings.store_root / "inventory.py").read_text() == expected
    if shutil.which("kcat"):
        (shown,) = shell(read).splitlines()
        assert decode(FileStored, shown).request_id == "r1"
    assert not workers.exited()
