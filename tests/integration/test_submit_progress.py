"""``codegen submit --wait`` follows each request through the stages by its metrics events."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.catalogue import STAGES, WORKERS
from pipeline.client import PipelineClient, build_request
from pipeline.client.progress import ProgressWatcher
from pipeline.records import FileStored
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, settings_env

pytestmark = pytest.mark.integration


async def test_a_request_is_seen_waiting_at_generate_then_stored_with_stage_times(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    settings = pipeline_settings
    workers_factory(settings, {worker: 0 if worker == "generate" else 1 for worker in WORKERS})
    client: PipelineClient = await client_factory(settings)
    request = build_request(EXAMPLES / "inventory.py", output_path="inventory.py")
    watcher = ProgressWatcher(settings, [request.request_id])
    await watcher.start()
    try:
        await client.submit(request)
        deadline = time.monotonic() + 180
        progress = watcher.progress[request.request_id]
        while progress.where() != "generate" or "extract" not in progress.durations_ms:
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.2)

        workers_factory(settings, {"generate": 1})
        result = await client.wait_for(request.request_id, timeout=240)
        assert isinstance(result, FileStored)
        await watcher.settle({request.request_id: "store"})
    finally:
        await watcher.stop()
    assert progress.stage == "store"
    assert set(STAGES) <= progress.durations_ms.keys()

    command = [sys.executable, "-m", "pipeline", "submit", str(EXAMPLES / "inventory.py")]
    command += ["--output", "again/inventory.py", "--wait", "--json", "--timeout", "240"]
    line = await asyncio.to_thread(
        subprocess.run,
        command,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert line.returncode == 0, line.stdout + line.stderr
    (document,) = [json.loads(text) for text in line.stdout.splitlines()]
    assert document["outcome"] == "stored" and document["module"] == "again/inventory.py"
    assert set(STAGES) <= document["durations_ms"].keys()
    assert all(ms >= 0 for ms in document["durations_ms"].values())
