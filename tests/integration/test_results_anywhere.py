"""Results reachable from any host: the stored record carries the filled module, and
``codegen submit --wait -o DIR`` writes what it receives on the client's machine."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.client import PipelineClient, build_request, save_result
from pipeline.records import FileStored
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source, settings_env

pytestmark = pytest.mark.integration

STAGES = {"extract": 1, "generate": 1, "validate": 1, "inject": 1, "verify": 1, "store": 1}


async def test_a_subscriber_gets_the_result_from_kafka_and_writes_it_anywhere(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
    tmp_path: Path,
) -> None:
    workers_factory(pipeline_settings, STAGES)
    client: PipelineClient = await client_factory(pipeline_settings)
    request = build_request(EXAMPLES / "inventory.py", output_path="deep/inventory.py")

    result = await client.submit_and_wait(request, timeout=240)

    assert isinstance(result, FileStored), result
    assert result.source == expected_source(request)
    assert result.sha256 == result.artifact.sha256 and result.intact()
    # The store's host is gone: the record alone is enough.
    shutil.rmtree(pipeline_settings.store_root)
    written = save_result(result, tmp_path / "elsewhere")
    assert written == (tmp_path / "elsewhere" / "deep" / "inventory.py").resolve()
    assert written.read_text(encoding="utf-8") == expected_source(request)


async def test_submit_wait_o_writes_every_result_received_into_the_directory(
    pipeline_settings: Settings, workers_factory: Callable[..., Supervisor], tmp_path: Path
) -> None:
    workers_factory(pipeline_settings, STAGES)
    client_side = tmp_path / "client"
    # The client's own store root is not the store workers': nothing is read from a disk.
    env = {
        **os.environ,
        **settings_env(pipeline_settings),
        "CODEGEN_STORE_ROOT": str(tmp_path / "not-the-store"),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [
            *(sys.executable, "-m", "pipeline", "submit", str(EXAMPLES)),
            *("--wait", "--timeout", "240", "-o", str(client_side)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    modules = sorted(EXAMPLES.glob("*.py"))
    assert modules
    for module in modules:
        received = client_side / module.name
        assert f"wrote {received.resolve()}" in done.stdout
        stored = pipeline_settings.store_root / module.name
        assert received.read_bytes() == stored.read_bytes()
        expected = expected_source(build_request(module, output_path=module.name))
        assert received.read_text(encoding="utf-8") == expected
    assert not (tmp_path / "not-the-store").exists()
    assert sorted(p.name for p in client_side.iterdir()) == sorted(m.name for m in modules)
