"""A worker's /healthz and /readyz on its Prometheus port, against a broker of the test's own
that it then stops: ready once in its group, not ready when the cluster is gone, alive all
along."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker, free_port
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor

pytestmark = pytest.mark.integration


async def wait_for_code(url: str, code: int, timeout: float = 120.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | str = "no answer"
    while time.monotonic() < deadline:
        try:
            last = await asyncio.to_thread(httpx.get, url, timeout=5.0)
            if last.status_code == code:
                return last
        except httpx.HTTPError as error:
            last = repr(error)
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url} never answered {code}: {last}")


async def test_readiness_follows_the_group_and_the_broker(
    own_broker: LocalBroker,
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
) -> None:
    settings = settings_factory(bootstrap_servers=own_broker.bootstrap)
    await ensure_topics(settings)
    port = free_port()
    workers_factory(settings, {"extract": 1}, env={"CODEGEN_PROMETHEUS_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"

    await wait_for_code(f"{base}/healthz", 200)
    ready = await wait_for_code(f"{base}/readyz", 200)
    assert ready.text == "ready\n"
    metrics = await asyncio.to_thread(httpx.get, f"{base}/metrics", timeout=5.0)
    assert metrics.status_code == 200 and "codegen_records_total" in metrics.text

    await asyncio.to_thread(own_broker.stop)
    not_ready = await wait_for_code(f"{base}/readyz", 503, timeout=60.0)
    assert not_ready.text.startswith("not ready: ")
    alive = await asyncio.to_thread(httpx.get, f"{base}/healthz", timeout=5.0)
    assert alive.status_code == 200
