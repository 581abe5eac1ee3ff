"""A worker whose broker does not answer tries to reconnect less and less often, up to
``CODEGEN_RECONNECT_BACKOFF_MAX_MS``, and is back at work soon after the broker returns.

While the broker is down, a listener on its port accepts every connection and resets it at
once (as a broker that is starting or crashing would): each accept is one connection attempt
of the worker's clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import LocalBroker
from pipeline.client import PipelineClient
from pipeline.records import GenerationRequest
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.integration.test_lost_broker_logs import until_extracted
from tests.support.listener import resetting_listener

pytestmark = pytest.mark.integration

DOWN_SECONDS = 10.0
BACKOFF_MS, BACKOFF_MAX_MS = 50, 1000
# The worker's consumer and producer each reach the one node: about 15 attempts each in
# 10 s with the backoff (50 ms doubling to 1 s), hundreds at aiokafka's fixed 100 ms.
MAX_ATTEMPTS = 60
MAX_LATE_ATTEMPTS = 25
BACK_WITHIN = 30.0  # from the broker answering again to the next request extracted


async def submit(settings: Settings, request_id: str) -> None:
    async with PipelineClient(settings) as client:
        await client.submit(
            GenerationRequest(request_id=request_id, source="x = 1\n", output_path="x.py")
        )


async def test_a_worker_backs_off_while_its_broker_is_down_and_resumes_when_it_is_back(
    own_broker: LocalBroker,
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
) -> None:
    settings = settings_factory(bootstrap_servers=own_broker.bootstrap)
    await ensure_topics(settings)
    workers_factory(
        settings,
        {"extract": 1},
        env={
            "CODEGEN_RECONNECT_BACKOFF_MS": str(BACKOFF_MS),
            "CODEGEN_RECONNECT_BACKOFF_MAX_MS": str(BACKOFF_MAX_MS),
        },
    )
    await submit(settings, "before")
    await until_extracted(settings, "before")  # in its group, consuming

    await asyncio.to_thread(own_broker.stop)
    with resetting_listener(own_broker.port) as listener:
        await asyncio.sleep(DOWN_SECONDS)
    attempts = listener.attempts
    late = [at for at in attempts if at > attempts[0] + DOWN_SECONDS / 2] if attempts else []

    await asyncio.to_thread(own_broker.start, timeout=180)
    back_at = time.monotonic()
    await submit(settings, "after")
    await until_extracted(settings, "after")
    back_after = time.monotonic() - back_at

    print(
        f"{len(attempts)} connection attempts in {DOWN_SECONDS:.0f} s ({len(late)} in the last "
        f"half); the next request extracted {back_after:.1f} s after the broker was back"
    )
    assert 0 < len(attempts) <= MAX_ATTEMPTS, f"{len(attempts)} connection attempts in 10 s"
    # At the cap, each client tries about once a second.
    assert len(late) <= MAX_LATE_ATTEMPTS, f"{len(late)} attempts in the last 5 s"
    assert back_after < BACK_WITHIN, f"{back_after:.1f} s to extract after the broker was back"
