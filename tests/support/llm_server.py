"""A scripted OpenAI-compatible chat-completions server for tests and benchmarks.

Real HTTP on 127.0.0.1 (aiohttp), ``POST /v1/chat/completions`` (any path ending in
``/chat/completions`` is served). What it answers is scripted:

* ``enqueue(...)`` queues replies, served in order, one per request: a ``Reply`` (status,
  headers, body, delay, or a dropped connection) or a callable taking the ``Received``
  request and returning a ``Reply`` (sync or async);
* when the queue is empty, ``default`` answers (a ``Reply`` or such a callable);
* ``latency`` is added to every request (concurrent requests wait in parallel).

It records every request (``requests``: JSON body and headers), counts requests in flight
(``in_flight``, ``max_in_flight``), and can be stopped and started again on the same port to
simulate an endpoint going down and coming back.

It runs either on the caller's event loop (``await start()`` / ``await stop()``) or on its
own loop in a background thread (``start_in_thread()`` / ``stop_in_thread()``), for tests
whose code blocks the loop or runs workers in other processes.

Replies come in the styles real servers and models answer in: ``completion`` and ``fenced``
(plain), ``cut`` (``finish_reason: "length"``), ``lone_think`` (R1-style reasoning ended by a
lone ``</think>``), ``with_reasoning_field`` (``reasoning_content`` / ``reasoning``),
``content_parts`` (a list of typed parts), ``event_stream`` (an SSE body), ``refusal``,
``empty`` and ``error``.

Example::

    server = LLMServer(latency=0.5)
    server.enqueue(completion("```python\\nreturn 1\\n```"), error(429, headers={...}))
    await server.start()
    ... Settings(openai_base_url=server.base_url) ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``body``: a dict/list is sent as JSON, a str/bytes as is."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    disconnect: bool = False
    """Close the connection without answering (after ``delay``)."""


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: Mapping[str, str]
    text: str
    json: Any
    received_at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.json, dict) and isinstance(self.json.get("messages"), list):
            return [m for m in self.json["messages"] if isinstance(m, dict)]
        return []

    def contents(self, role: str) -> str:
        """The content of the messages of ``role``, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)

    @property
    def system_prompt(self) -> str:
        return self.contents("system")

    @property
    def user_prompt(self) -> str:
        return self.contents("user")

    @property
    def prompt(self) -> str:
        """Every message's content, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)

    @property
    def stub_name(self) -> str | None:
        """The qualified name the prompt asks a body for (see the generator's prompts)."""
        match = _STUB_NAME.search(self.user_prompt)
        return match.group(1) if match else None


Responder = Callable[[Received], "Reply | Awaitable[Reply]"]
Script = Reply | Responder

_STUB_NAME = re.compile(r"Write the body of `([^`]+)`")


def completion(
    content: str | list[dict[str, Any]] | None,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 20,
    model: str = "test-model",
    finish_reason: str = "stop",
    delay: float = 0.0,
    headers: Mapping[str, str] | None = None,
    **message: Any,
) -> Reply:
    """A successful chat completion with ``content`` and usage; ``message`` adds fields to the
    message (``reasoning_content``, ``reasoning``, ``refusal``)."""
    return Reply(
        status=200,
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, **message},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        },
        headers=dict(headers or {}),
        delay=delay,
    )


def fenced(code: str, **kwargs: Any) -> Reply:
    """A completion whose content is ``code`` in a ```python fence."""
    return completion(f"```python\n{code}\n```", **kwargs)


# ---------------------------------------------------------------- reply styles
# How real servers and models answer; each takes the code the answer should carry.


def cut(code: str, **kwargs: Any) -> Reply:
    """Stopped at the token limit (``finish_reason: "length"``) right after ``code``."""
    return completion(f"```python\n{code}\n", finish_reason="length", **kwargs)


def lone_think(code: str, draft: str = "return None", **kwargs: Any) -> Reply:
    """R1-style: the template opened ``<think>``, so the text starts with the reasoning (a
    draft in a fence) and the answer follows a lone ``</think>``."""
    reasoning = f"The user wants a body. A first draft:\n```python\n{draft}\n```\nBetter:\n"
    return completion(f"{reasoning}</think>\n\n```python\n{code}\n```", **kwargs)


def with_reasoning_field(
    code: str, draft: str = "return None", *, field: str = "reasoning_content", **kwargs: Any
) -> Reply:
    """The thinking in ``reasoning_content`` (vLLM, DeepSeek) or ``reasoning`` (Ollama,
    OpenRouter), with a longer wrong draft in it."""
    thinking = f"Draft:\n```python\n{draft}\n# a long draft\n```"
    return completion(f"```python\n{code}\n```", **{field: thinking}, **kwargs)


def content_parts(code: str, draft: str = "return None", **kwargs: Any) -> Reply:
    """Content as a list of parts: a reasoning part, then the answer in two text parts."""
    fence = f"```python\n{code}\n```"
    middle = len(fence) // 2
    parts = [
        {"type": "reasoning", "text": f"```python\n{draft}\n# a longer draft\n```"},
        {"type": "text", "text": fence[:middle]},
        {"type": "text", "text": fence[middle:]},
    ]
    return completion(parts, **kwargs)


def event_stream(
    code: str, *, chunk: int = 7, finish_reason: str = "stop", done: bool = True, **kwargs: Any
) -> Reply:
    """A ``text/event-stream`` body (``data: {...}`` chunks, ``data: [DONE]``) though the
    request asked for none."""
    text = f"```python\n{code}\n```"
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "test-model"}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for start in range(0, len(text), chunk):
        delta = {"content": text[start : start + chunk]}
        events.append({**base, "choices": [{"index": 0, "delta": delta}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    usage = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
    events.append({**base, "choices": [], "usage": usage})
    lines = [f"data: {json.dumps(event)}\n\n" for event in events]
    if done:
        lines.append("data: [DONE]\n\n")
    headers = {"Content-Type": "text/event-stream", **kwargs.pop("headers", {})}
    return Reply(body="".join(lines), headers=headers, **kwargs)


def refusal(text: str = "I'm sorry, but I can't help with that.", **kwargs: Any) -> Reply:
    """OpenAI's refusal: no content, the reason in ``refusal``."""
    return completion(None, refusal=text, **kwargs)


def empty(**kwargs: Any) -> Reply:
    """A well-formed completion with nothing in it."""
    return completion("", **kwargs)


def error(
    status: int,
    message: str = "scripted error",
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    """An OpenAI-style error answer: {"error": {"message", "type", "code"}}."""
    return Reply(
        status=status,
        body={"error": {"message": message, "type": "test_error", "code": code}},
        headers=dict(headers or {}),
        delay=delay,
    )


def bodies_responder(
    bodies: Mapping[str, str], *, fallback: str = "return None", **kwargs: Any
) -> Responder:
    """Answers each prompt with the fenced body scripted for the stub it names."""

    def respond(request: Received) -> Reply:
        name = request.stub_name
        return fenced(bodies.get(name, fallback) if name else fallback, **kwargs)

    return respond


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LLMServer:
    """See the module docstring."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        default: Script | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        backlog: int = 1024,
    ) -> None:
        self.latency = latency
        self.default: Script = default or fenced("return None")
        self.host = host
        self.port = port or free_port(host)
        self.backlog = backlog
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._script: deque[Script] = deque()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to configure as the OpenAI base URL."""
        return f"{self.url}/v1"

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ------------------------------------------------------------ script

    def enqueue(self, *replies: Script) -> LLMServer:
        with self._lock:
            self._script.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not served yet."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the script, the requests and the in-flight maximum."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight

    @property
    def completion_requests(self) -> list[Received]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> LLMServer:
        """Listen (again) on the same port, on the running event loop."""
        if self._runner is not None:
            return self
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        app.router.add_route("GET", "/{tail:.*}", self._handle_get)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(
            runner,
            self.host,
            self.port,
            backlog=self.backlog,
            reuse_address=True,
            shutdown_timeout=0.5,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Stop listening and drop open connections: clients get connection errors."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def start_in_thread(self, timeout: float = 10.0) -> LLMServer:
        """Run on a dedicated event loop in a daemon thread."""
        if self._thread is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="llm-server", daemon=True)
            self._thread_loop = loop
            self._thread.start()
            ready.wait(timeout)
        assert self._thread_loop is not None
        asyncio.run_coroutine_threadsafe(self.start(), self._thread_loop).result(timeout)
        return self

    def stop_in_thread(self, timeout: float = 10.0, *, keep_thread: bool = False) -> None:
        """Stop listening; unless ``keep_thread``, also end the thread (start it anew later)."""
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        if not keep_thread:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            loop.close()
            self._thread = self._thread_loop = None

    async def __aenter__(self) -> LLMServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ serving

    async def _handle_get(self, request: web.Request) -> web.StreamResponse:
        if request.path.rstrip("/").endswith("/models"):
            return web.json_response({"object": "list", "data": [{"id": "test-model"}]})
        return web.json_response({"error": {"message": "not found"}}, status=404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        try:
            payload: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = None
        received = Received(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            text=text,
            json=payload,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            script = self._script.popleft() if self._script else self.default
        try:
            if not request.path.rstrip("/").endswith("/chat/completions"):
                return web.json_response(
                    {"error": {"message": f"unknown path {request.path}"}}, status=404
                )
            reply = script(received) if callable(script) else script
            if inspect.isawaitable(reply):
                reply = await reply
            assert isinstance(reply, Reply), f"a script returned {reply!r}, not a Reply"
            delay = self.latency + reply.delay
            if delay > 0:
                await asyncio.sleep(delay)
            if reply.disconnect:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            return _response(reply)
        finally:
            with self._lock:
                self.in_flight -= 1


def _response(reply: Reply) -> web.Response:
    headers = dict(reply.headers)
    if isinstance(reply.body, dict | list):
        headers.setdefault("Content-Type", "application/json")
        return web.Response(status=reply.status, text=json.dumps(reply.body), headers=headers)
    if isinstance(reply.body, bytes):
        return web.Response(status=reply.status, body=reply.body, headers=headers)
    headers.setdefault("Content-Type", "text/plain")
    return web.Response(status=reply.status, text=reply.body or "", headers=headers)
