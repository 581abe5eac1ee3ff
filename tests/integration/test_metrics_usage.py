"""Tokens and cost, from the model server to the reducer's windows, on the real broker.

Every stage worker and the metrics reducer run as OS processes; the generate worker calls
the scripted OpenAI-compatible server, which reports distinct usage for every answer. The
window's tokens and cost must equal what the server reported: each call once, a body kept
through a repair not again, and an unusable answer that was paid for included.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pipeline.cli.metrics_cmd import open_windows
from pipeline.client import PipelineClient
from pipeline.records import FileStored, RequestFailed
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.integration.test_generation import (
    AWAIT_IN_SYNC,
    DOUBLE,
    PORTS,
    STAGE_WORKERS,
    Model,
    example_request,
    gather_results,
    model_server,
    openai_settings,
    prepared,
    request_for,
)
from tests.support.llm_server import LLMServer, Received, Reply

pytestmark = pytest.mark.integration

__all__ = ["model_server"]  # the fixture, used by name

PRICE = (0.5, 1.5)  # $ per 1k prompt and completion tokens


class Metered(Model):
    """The scripted model, reporting new usage on every answer and keeping the total.
    Answers for ``unusable`` stubs have usage but no choice."""

    def __init__(self, unusable: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.unusable = unusable
        self.lock = threading.Lock()
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def __call__(self, request: Received) -> Reply:
        reply = super().__call__(request)
        with self.lock:
            calls = sum(self.served.values())
            prompt, completed = 50 + calls, 7 * calls
            self.prompt_tokens += prompt
            self.completion_tokens += completed
        body = {**reply.body, "usage": {"prompt_tokens": prompt, "completion_tokens": completed}}
        if request.stub_name in self.unusable:
            body["choices"] = []
        return Reply(body=body, delay=reply.delay)

    @property
    def cost(self) -> float:
        return self.prompt_tokens / 1000 * PRICE[0] + self.completion_tokens / 1000 * PRICE[1]


async def window_usage(settings: Settings, requests: int) -> dict[str, Any]:
    """The hourly windows' summed model usage, once the reducer has folded ``requests``
    outcomes (a request's events share its key, so its generate events come first)."""
    deadline = asyncio.get_running_loop().time() + 120
    while True:
        rows = await asyncio.to_thread(open_windows, settings, "hourly") or []
        summaries = [row["summary"] for row in rows]
        if sum(s["completed"] for s in summaries) >= requests:
            break
        assert asyncio.get_running_loop().time() < deadline, summaries
        await asyncio.sleep(0.5)
    models: dict[str, dict[str, float]] = {}
    for summary in summaries:
        for name, usage in summary["models"].items():
            total = models.setdefault(name, dict.fromkeys(usage, 0))
            for key, value in usage.items():
                total[key] += value
    return models


async def test_the_windows_tokens_and_cost_are_what_the_server_reported(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    model = Metered(
        unusable={"double"}, bad={"Ports.parse": [AWAIT_IN_SYNC.format("self.default")]}
    )
    server = model_server(model)
    settings = await prepared(
        openai_settings(settings_factory, server, openai_prices={"test-model": PRICE})
    )
    client = await client_factory(settings)
    workers = workers_factory(settings, {**STAGE_WORKERS, "metrics": 1})

    good = example_request("inventory.py", "usage/inventory.py")
    repaired = request_for(PORTS, "usage/ports.py")  # Ports.clamp is kept through the repair
    unusable = request_for(DOUBLE, "usage/double.py")
    every = [good, repaired, unusable]
    for request in every:
        await client.submit(request)
    results = await gather_results(client, every)
    assert isinstance(results[good.request_id], FileStored), results[good.request_id]
    assert isinstance(results[repaired.request_id], FileStored), results[repaired.request_id]
    failure = results[unusable.request_id]
    assert isinstance(failure, RequestFailed), failure
    assert failure.error_code == "BAD_LLM_RESPONSE"
    assert model.served["Ports.parse"] == 2
    assert model.served["Ports.clamp"] == 1

    usage = await window_usage(settings, len(every))
    assert set(usage) == {"test-model"}, usage
    reported = usage["test-model"]
    assert reported["prompt_tokens"] == model.prompt_tokens
    assert reported["completion_tokens"] == model.completion_tokens
    assert reported["cost_usd"] == pytest.approx(model.cost, abs=1e-9)
    assert not workers.exited()
