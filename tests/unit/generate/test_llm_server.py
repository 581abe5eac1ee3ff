"""The scripted OpenAI-compatible test server itself."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import httpx
import pytest

from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import (
    LLMServer,
    Received,
    Reply,
    bodies_responder,
    completion,
    error,
    fenced,
)

CHAT = {"model": "m", "messages": [{"role": "user", "content": "Write the body of `a.b`."}]}


async def test_scripted_replies_in_order_then_the_default(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=fenced("return 0"))
    server.enqueue(error(429, headers={"Retry-After": "1"}), completion("hi", prompt_tokens=3))
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        first = await client.post("/chat/completions", json=CHAT)
        second = await client.post("/chat/completions", json=CHAT)
        third = await client.post("/chat/completions", json=CHAT)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert first.json()["error"]["message"] == "scripted error"
    assert second.json()["choices"][0]["message"]["content"] == "hi"
    assert second.json()["usage"]["prompt_tokens"] == 3
    assert third.json()["choices"][0]["message"]["content"] == "```python\nreturn 0\n```"
    assert server.pending == 0
    assert [r.json for r in server.requests] == [CHAT, CHAT, CHAT]
    assert server.requests[0].stub_name == "a.b"


async def test_callable_scripts_see_the_request(llm_server: LLMServerFactory) -> None:
    async def echo(request: Received) -> Reply:
        await asyncio.sleep(0)
        return completion(request.user_prompt)

    server = await llm_server(default=bodies_responder({"a.b": "return 42"}))
    server.enqueue(echo)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        echoed = await client.post("/chat/completions", json=CHAT)
        scripted = await client.post("/chat/completions", json=CHAT)
    assert echoed.json()["choices"][0]["message"]["content"] == "Write the body of `a.b`."
    assert "return 42" in scripted.json()["choices"][0]["message"]["content"]


async def test_latency_is_concurrent_not_serialised(llm_server: LLMServerFactory) -> None:
    # aiohttp's client: httpx's pool is itself slow with 200 connections in one pool
    server = await llm_server(latency=0.5)
    connector = aiohttp.TCPConnector(limit=200)
    url = f"{server.base_url}/chat/completions"

    async def call(session: aiohttp.ClientSession) -> int:
        async with session.post(url, json=CHAT) as answer:
            await answer.read()
            return answer.status

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        statuses = await asyncio.gather(*(call(session) for _ in range(200)))
        elapsed = time.monotonic() - started
    assert statuses == [200] * 200
    assert server.max_in_flight == 200
    assert elapsed < 4.0  # 200 x 0.5 s would be 100 s serialised


async def test_stop_and_start_on_the_same_port(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.post("/chat/completions", json=CHAT)).status_code == 200
        await server.stop()
        assert not server.running
        with pytest.raises(httpx.ConnectError):
            await client.post("/chat/completions", json=CHAT)
        await server.start()
        assert (await client.post("/chat/completions", json=CHAT)).status_code == 200


async def test_a_dropped_connection(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(Reply(disconnect=True))
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/chat/completions", json=CHAT)


async def test_unknown_paths_are_404_and_models_are_listed(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.post("/v1/embeddings", json={})).status_code == 404
        assert (await client.get("/v1/models")).json()["data"][0]["id"] == "test-model"


def test_the_server_runs_in_a_thread() -> None:
    server = LLMServer(default=fenced("return 1")).start_in_thread()
    try:
        answer = httpx.post(f"{server.base_url}/chat/completions", json=CHAT)
        assert answer.status_code == 200
        server.stop_in_thread(keep_thread=True)
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{server.base_url}/chat/completions", json=CHAT)
        server.start_in_thread()
        assert httpx.post(f"{server.base_url}/chat/completions", json=CHAT).status_code == 200
    finally:
        server.stop_in_thread()
    assert len(server.requests) == 2
