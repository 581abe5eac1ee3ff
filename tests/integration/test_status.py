"""``codegen status`` on a real broker: a backlog on one stage shows as its lag, with a hint,
in the JSON and in the Prometheus gauges of ``--serve-prometheus``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pipeline.broker.local import free_port
from pipeline.broker.status import PipelineStatus, collect_status
from pipeline.catalogue import WORKERS
from pipeline.client import PipelineClient, build_request
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, settings_env

pytestmark = pytest.mark.integration

REQUESTS = 12


async def settled(
    settings: Settings, check: Callable[[PipelineStatus], bool], timeout: float = 180.0
) -> PipelineStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = await collect_status(settings)
        if check(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(1.0)


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def group(status: PipelineStatus | dict[str, Any], worker: str) -> Any:
    groups = status["groups"] if isinstance(status, dict) else status.groups
    return next(g for g in groups if (g["worker"] if isinstance(g, dict) else g.worker) == worker)


async def test_a_stopped_stage_holds_the_backlog_and_gets_the_hint(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    settings = pipeline_settings
    counts = {worker: 0 if worker == "generate" else 1 for worker in WORKERS}
    workers = workers_factory(settings, counts)
    client: PipelineClient = await client_factory(settings)
    modules = sorted(EXAMPLES.glob("*.py"))
    for index in range(REQUESTS):
        await client.submit(build_request(modules[index % len(modules)], output_path=f"{index}.py"))

    status = await settled(
        settings,
        lambda s: (
            group(s, "extract").lag == 0
            and group(s, "generate").lag >= REQUESTS
            and bool(group(s, "extract").members)
        ),
    )
    generate = group(status, "generate")
    assert group(status, "extract").lag == 0, status.model_dump_json(indent=1)
    assert generate.lag == sum(row.end for row in generate.partitions) >= REQUESTS
    assert not generate.members and generate.state in ("Empty", "Dead")

    result = await asyncio.to_thread(run_cli, settings, "status", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    generate_json = group(document, "generate")
    assert generate_json["lag"] == generate.lag
    assert document["total_lag"] == generate.lag
    assert document["hint"] == "generate holds 100% of the lag: start `codegen worker generate`"
    assert 0 < generate_json["oldest_waiting_seconds"] < 600
    assert generate_json["records_per_second"] > 0
    extract_json = group(document, "extract")
    pids = {w.process.pid for w in workers.workers if w.stage == "extract"}
    assert {m["pid"] for m in extract_json["members"]} == pids
    assert sum(len(m["partitions"]) for m in extract_json["members"]) == len(
        extract_json["partitions"]
    )

    table = await asyncio.to_thread(run_cli, settings, "status")
    assert table.returncode == 0, table.stderr
    assert "generate holds 100% of the lag" in table.stdout

    port = free_port()
    exporter = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "status", "--serve-prometheus", str(port)],
        env={**os.environ, **settings_env(settings)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        text = ""
        for _ in range(120):
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                text = ""
            if f'codegen_consumer_lag_total{{stage="generate"}} {float(generate.lag)}' in text:
                break
            await asyncio.sleep(0.5)
        assert f'codegen_consumer_lag_total{{stage="generate"}} {float(generate.lag)}' in text
        assert 'codegen_consumer_lag{partition="0",stage="generate"' in text
        assert 'codegen_group_members{stage="generate"} 0.0' in text
    finally:
        os.killpg(exporter.pid, signal.SIGTERM)
        exporter.wait(timeout=10)
