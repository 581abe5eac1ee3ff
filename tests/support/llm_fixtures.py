"""Pytest fixtures around the scripted LLM server (``tests.support.llm_server``).

``llm_server`` is a factory: ``server = await llm_server(latency=0.1)`` starts a server on a
free port; every server it started is stopped at the end of the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.support.llm_server import LLMServer

LLMServerFactory = Callable[..., Awaitable[LLMServer]]


@pytest.fixture
async def llm_server() -> AsyncIterator[LLMServerFactory]:
    servers: list[LLMServer] = []

    async def make(**kwargs: Any) -> LLMServer:
        server = LLMServer(**kwargs)
        servers.append(server)
        return await server.start()

    yield make
    for server in servers:
        await server.stop()
