"""The ``openai`` generator: any OpenAI-compatible chat-completions endpoint.

OpenAI, vLLM, Ollama, llama.cpp's server, LiteLLM...: ``POST {base_url}/chat/completions``.
One prompt per stub (see ``prompts``), the stubs of a request in parallel, the code taken
out of each reply (see ``replies``; the answer is kept apart from the reasoning: the
``reasoning_content`` or ``reasoning`` field, reasoning content parts, ``<think>`` sections; an
event-stream body is read too, even when a plain one was asked for). A malformed or empty
answer is retried like a transient error. A reply that cannot be used (no code, a refusal,
cut at the token limit, helpers that cannot be placed) is that stub's problem: the others
are returned with it (``ReplyProblems``) and the repair loop asks again. Calls go through
one pooled HTTP client, a per-worker concurrency limit, retries with backoff and a circuit
breaker per endpoint (see ``resilience``). Token counts and cost are recorded on every body.

The API key is sent as a bearer token and is never logged nor put in an error or a repr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from pydantic import SecretStr

from pipeline.models import Finding, GeneratedBody, Stub
from pipeline.settings import Settings, options_from
from pipeline.stages.generate.base import GenerateError, GenerationTask, Generator
from pipeline.stages.generate.context import (
    CONTEXT_INLINE_LIMIT_CHARS,
    DEFAULT_BUDGET_CHARS,
    ModuleContext,
    build_module_context,
)
from pipeline.stages.generate.extras import settle_extras
from pipeline.stages.generate.problems import REPLY_REFUSED, ReplyProblem, ReplyProblems
from pipeline.stages.generate.prompts import PROMPT_VERSION, ChatMessage, HouseRules, build_messages
from pipeline.stages.generate.replies import extract_code, split_reasoning
from pipeline.stages.generate.resilience import (
    CircuitBreaker,
    CircuitBreakers,
    CircuitState,
    Clock,
    HoldBudget,
    RetryPolicy,
    Sleep,
    TransientCallError,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

BAD_LLM_RESPONSE = "BAD_LLM_RESPONSE"
LLM_REQUEST_REJECTED = "LLM_REQUEST_REJECTED"
LLM_UNAVAILABLE = "LLM_UNAVAILABLE"

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Besides every 5xx. 409 is a lock timeout on OpenAI's side."""

BREAKER_NEUTRAL_STATUSES = frozenset({409, 429})
"""Retried, but the endpoint is up: these neither open nor close the circuit."""

MAX_ERROR_TEXT = 500
# A failure's message names at most this many stubs per error and this many errors; the
# details list every stub with its error.
MAX_NAMES_IN_MESSAGE = 5
MAX_ERRORS_IN_MESSAGE = 2


_USERINFO = re.compile(r"//[^/@]*@")


def _config_error(reason: str) -> GenerateError:
    return GenerateError(
        f"the openai generator is misconfigured: {reason} (CODEGEN_OPENAI_BASE_URL)",
        code="LLM_BAD_CONFIG",
    )


@dataclass(frozen=True)
class OpenAIConfig:
    """The backend's configuration; ``from_settings`` reads the ``openai_*`` settings."""

    # repr=False: the URL may carry credentials (user:password@); ``endpoint`` is safe to show
    base_url: str = field(default="https://api.openai.com/v1", repr=False)
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    temperature: float = 0.2
    max_tokens: int = 2048
    timeout: float = 60.0
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    extra_body: Mapping[str, object] = field(default_factory=dict)
    max_concurrency: int = 16
    retry_attempts: int = 4
    retry_initial_wait: float = 0.5
    retry_max_wait: float = 30.0
    breaker_threshold: int = 5
    breaker_reset: float = 30.0
    breaker_hold: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIConfig:
        return options_from(settings, cls, "openai_")

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as error:
            raise _config_error(f"the base URL does not parse: {error}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise _config_error(
                f"the base URL must be http(s)://host[:port]/path, not {self.endpoint!r}"
            )

    @property
    def endpoint(self) -> str:
        """The base URL without credentials or query: safe to show."""
        try:
            url = httpx.URL(self.base_url.rstrip("/"))
        except httpx.InvalidURL:
            return _USERINFO.sub("//", self.base_url.split("?", 1)[0].rstrip("/"))
        return str(url.copy_with(userinfo=b"", query=None, fragment=None)).rstrip("/")

    @property
    def completions_url(self) -> str:
        """``{base_url}/chat/completions``, keeping a query (e.g. ``?api-version=``)."""
        url = httpx.URL(self.base_url)
        return str(url.copy_with(path=url.path.rstrip("/") + "/chat/completions"))

    def price(self, *models: str | None) -> tuple[float, float] | None:
        """USD per 1k prompt and completion tokens: exact name first, then longest prefix
        (``gpt-4o-mini`` prices ``gpt-4o-mini-2024-07-18``)."""
        names = [m for m in models if m]
        for name in names:
            if name in self.prices:
                return self.prices[name]
        for name in names:
            prefixes = [key for key in self.prices if name.startswith(key)]
            if prefixes:
                return self.prices[max(prefixes, key=len)]
        return None


@dataclass(frozen=True)
class Completion:
    """What one successful call returned."""

    content: str | None
    finish_reason: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    refusal: str | None = None
    reasoning: str | None = None


class UnusableAnswer(TransientCallError):
    """HTTP 2xx with an answer that cannot be read (not JSON, no choice...): retried.
    ``spent``: the model and tokens the answer reported, when it did."""

    def __init__(self, reason: str, spent: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.spent = spent or {}


class EmptyAnswer(TransientCallError):
    """A well-formed answer with nothing in it: retried; the last one is the reply."""

    def __init__(self, reason: str, completion: Completion) -> None:
        super().__init__(reason)
        self.completion = completion


class ChatCompletionsClient:
    """Calls ``/chat/completions`` with retries, a circuit breaker and a concurrency limit."""

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: asyncio.Semaphore | None = None,
        breakers: CircuitBreakers | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self._owns_http = http is None
        self.http_clients = [http] if http is not None else _http_clients(config)
        self._load = [0] * len(self.http_clients)
        self._url: httpx.URL | None = None  # parsed on the first call (httpx re-parses a str)
        self.limiter = limiter or asyncio.Semaphore(config.max_concurrency)
        if breakers is None:
            breakers = CircuitBreakers(
                threshold=config.breaker_threshold,
                reset_after=config.breaker_reset,
                clock=clock or time.monotonic,
            )
        self.breaker: CircuitBreaker = breakers.for_endpoint(config.endpoint)
        self.sleep = sleep
        self.retry = RetryPolicy(
            attempts=config.retry_attempts,
            initial_wait=config.retry_initial_wait,
            max_wait=config.retry_max_wait,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        config = self.config
        return f"ChatCompletionsClient(endpoint={config.endpoint!r}, model={config.model!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            for client in self.http_clients:
                await client.aclose()

    def request_body(self, messages: Sequence[ChatMessage]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [message.as_json() for message in messages],
            "temperature": self.config.temperature,
            "n": 1,
            "stream": False,
        }
        if self.config.max_tokens:
            body["max_tokens"] = self.config.max_tokens
        for key, value in self.config.extra_body.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    async def complete(self, messages: Sequence[ChatMessage], *, label: str = "") -> Completion:
        """One completion; GenerateError when it cannot be had."""
        body = self.request_body(messages)
        describe = f"chat completion{f' for {label}' if label else ''} at {self.config.endpoint}"
        budget = HoldBudget(self.config.breaker_hold)
        paid: list[Mapping[str, Any]] = []  # the usage of answers retried, each paid for
        while True:
            try:
                completion = await self.retry.call(
                    lambda: self._attempt(body, budget, paid), describe=describe
                )
                return _plus_usage(completion, paid)
            except EmptyAnswer as error:  # the reply has no code: the repair loop's business
                return _plus_usage(error.completion, paid[:-1])
            except UnusableAnswer as error:
                raise GenerateError(
                    f"the model endpoint {self.config.endpoint} sent an unusable answer "
                    f"{self.retry.attempts} time(s): {error.reason}",
                    code=BAD_LLM_RESPONSE,
                    endpoint=self.config.endpoint,
                    attempts=self.retry.attempts,
                    **_summed_usage(paid, error.spent),
                ) from None
            except TransientCallError as error:
                if budget.left > 0 and self.breaker.state is not CircuitState.CLOSED:
                    continue  # the endpoint is failing: held back until it is back (or budget)
                raise GenerateError(
                    f"the model endpoint {self.config.endpoint} gave no answer after "
                    f"{self.retry.attempts} attempt(s): {error.reason}",
                    code=LLM_UNAVAILABLE,
                    endpoint=self.config.endpoint,
                    status=error.status,
                    attempts=self.retry.attempts,
                ) from None

    async def _attempt(
        self, body: dict[str, Any], budget: HoldBudget, paid: list[Mapping[str, Any]]
    ) -> Completion:
        """One HTTP call, inside the concurrency limit and the breaker."""
        await self.breaker.hold(budget, self.sleep)
        async with self.limiter:
            probe = self.breaker.acquire()
            try:
                response = await self._post(body)
            except TransientCallError:
                self.breaker.failure(probe)
                raise
            except BaseException:  # a bad URL, a cancellation: no verdict on the endpoint
                self.breaker.release(probe)
                raise
        status = response.status_code
        if status < 300:
            self.breaker.success(probe)
            try:
                return self._completion(response)
            except UnusableAnswer as error:
                paid.append(error.spent)
                raise
            except EmptyAnswer as error:
                paid.append(_reported_usage(vars(error.completion)))
                raise
        retryable = status in RETRYABLE_STATUSES or status >= 500
        message = self._redact(_error_message(response))
        if status in BREAKER_NEUTRAL_STATUSES or not retryable:
            self.breaker.release(probe)
        else:
            self.breaker.failure(probe)
        if status == 429 and "insufficient_quota" in message:
            retryable = False
        if retryable:
            raise TransientCallError(
                f"HTTP {status}: {message}",
                status=status,
                retry_after=parse_retry_after(response.headers),
            )
        raise GenerateError(
            f"the model endpoint {self.config.endpoint} rejected the request with HTTP "
            f"{status}: {message}",
            code=LLM_REQUEST_REJECTED,
            status=status,
            endpoint=self.config.endpoint,
            server_message=message,
        )

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        shard = min(range(len(self._load)), key=self._load.__getitem__)
        self._load[shard] += 1
        try:
            async with asyncio.timeout(self.config.timeout):
                if self._url is None:
                    self._url = httpx.URL(self.config.completions_url)
                return await self.http_clients[shard].post(
                    self._url, content=json.dumps(body), headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            raise TransientCallError(
                f"no answer within {self.config.timeout:g} s (CODEGEN_OPENAI_TIMEOUT)"
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise GenerateError(
                f"the model endpoint {self.config.endpoint} is not a usable URL: "
                f"{self._redact(str(error))} (CODEGEN_OPENAI_BASE_URL)",
                code=LLM_REQUEST_REJECTED,
                endpoint=self.config.endpoint,
            ) from None
        except httpx.TransportError as error:
            reason = self._redact(str(error)) or type(error).__name__
            raise TransientCallError(f"{type(error).__name__}: {reason}") from None
        finally:
            self._load[shard] -= 1

    def _completion(self, response: httpx.Response) -> Completion:
        payload = self._payload(response)
        # An unusable answer may still have been paid for: its errors carry the usage.
        spent = _reported_usage(payload)
        if "error" in payload and not payload.get("choices"):
            raise self._bad_response(
                f"an error came with HTTP 200: {_message_of(payload)}", **spent
            )
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._bad_response("there is no choice in the answer", **spent)
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._bad_response("the first choice has no message", **spent)
        refusal = message.get("refusal")
        content, reasoning = _answer_of(message)
        completion = Completion(
            content=content,
            finish_reason=_str_or_none(choice.get("finish_reason")),
            refusal=refusal if isinstance(refusal, str) and refusal else None,
            reasoning=reasoning or None,
            **spent,
        )
        empty = not (content or "").strip() and completion.refusal is None
        if empty and completion.finish_reason not in ("length", "content_filter"):
            only = " (only reasoning)" if reasoning else ""
            raise EmptyAnswer(f"the answer is empty{only}", completion)
        return completion

    def _payload(self, response: httpx.Response) -> dict[str, Any]:
        """The answer as one JSON object; an event stream is folded into one."""
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        if not streamed:
            try:
                payload = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                if not _looks_like_a_stream(response.text):
                    reason = f"the body is not JSON: {self._redact(response.text[:200])!r}"
                    raise self._bad_response(reason) from None
            else:
                if not isinstance(payload, dict):
                    raise self._bad_response("the body is not a JSON object")
                return payload
        events = _stream_events(response.text)
        if events is None:
            excerpt = self._redact(response.text[:200])
            raise self._bad_response(f"an event in the stream is not JSON: {excerpt!r}")
        return _folded_stream(events, self._bad_response)

    def _bad_response(self, reason: str, **spent: Any) -> UnusableAnswer:
        return UnusableAnswer(reason, spent)

    def _redact(self, text: str) -> str:
        key = self.config.api_key.get_secret_value() if self.config.api_key else ""
        if key:
            text = text.replace(key, "***")
        return text


class OpenAIGenerator(Generator):
    """Bodies from an OpenAI-compatible model, one call per stub, the stubs in parallel."""

    name = "openai"

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        rules: HouseRules | None = None,
        client: ChatCompletionsClient | None = None,
        prompt_budget: int = DEFAULT_BUDGET_CHARS,
    ) -> None:
        self.config = config
        self.rules = rules or HouseRules()
        self.prompt_budget = prompt_budget
        self.client = client or ChatCompletionsClient(config)
        self._unpriced: set[str] = set()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
    ) -> OpenAIGenerator:
        config = OpenAIConfig.from_settings(settings)
        # Import paths as configured: the prompt names the bare names, inject adds the imports.
        rules = HouseRules(error_class=settings.error_class, log_function=settings.log_function)
        client = ChatCompletionsClient(config, http=http, sleep=sleep, clock=clock)
        return cls(config, rules=rules, client=client, prompt_budget=settings.prompt_budget_chars)

    def __repr__(self) -> str:
        return f"OpenAIGenerator(endpoint={self.config.endpoint!r}, model={self.config.model!r})"

    async def aclose(self) -> None:
        await self.client.aclose()

    async def generate(self, task: GenerationTask) -> list[GeneratedBody]:
        """One body per selected stub. A call that failed fails the request (``GenerateError``);
        when only replies were unusable, ``ReplyProblems`` carries the good bodies and a
        finding per unusable reply."""
        stubs = task.selected_stubs()
        if not stubs:
            return []
        if task.source and len(task.source) > CONTEXT_INLINE_LIMIT_CHARS:
            context = await asyncio.to_thread(self.module_context, task)
        else:
            context = self.module_context(task)
        results = await asyncio.gather(
            *(self._generate_one(stub, task, context) for stub in stubs), return_exceptions=True
        )
        bodies: list[GeneratedBody] = []
        failures: list[tuple[str, GenerateError]] = []
        for stub, result in zip(stubs, results, strict=True):
            if isinstance(result, GeneratedBody):
                bodies.append(result)
            elif isinstance(result, GenerateError):
                failures.append((stub.qualified_name, result))
            else:
                raise result
        if any(not isinstance(error, ReplyProblem) for _, error in failures):
            raise _combined(failures, len(stubs), bodies)
        if failures:
            raise ReplyProblems(
                bodies,
                [e.finding(name) for name, e in failures if isinstance(e, ReplyProblem)],
                **_usage(failures, bodies),
            )
        return bodies

    def module_context(self, task: GenerationTask) -> ModuleContext:
        """The module's part of the prompts, built once per task from its source."""
        return build_module_context(
            task.source, task.extraction, budget=self.prompt_budget, cached=True
        )

    def messages(
        self, stub: Stub, task: GenerationTask, context: ModuleContext
    ) -> list[ChatMessage]:
        """The prompt of one stub."""
        name = stub.qualified_name
        return build_messages(
            stub,
            context,
            self.rules,
            strict=task.strict,
            attempt=task.attempt,
            previous_code=task.previous_bodies.get(name),
            findings=_findings_for(task.findings, name),
        )

    async def _generate_one(
        self, stub: Stub, task: GenerationTask, context: ModuleContext
    ) -> GeneratedBody:
        name = stub.qualified_name
        messages = self.messages(stub, task, context)
        try:
            completion = await self.client.complete(messages, label=name)
        except GenerateError as error:
            if "prompt_tokens" in error.details:  # an unusable answer that was paid for
                paid = Completion(None, None, **_reported_usage(error.details))
                error.details.update(
                    qualified_name=name,
                    model=paid.model or self.config.model,
                    cost_usd=self.cost(paid),
                )
            raise
        model = completion.model or self.config.model
        cost = self.cost(completion)
        try:
            code = self._code_of(completion, stub, task)
        except GenerateError as error:
            error.details.update(
                qualified_name=name,
                model=model,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=cost,
            )
            raise
        return GeneratedBody(
            qualified_name=name,
            code=code,
            generator=self.name,
            model=model,
            attempt=task.attempt,
            prompt_version=PROMPT_VERSION,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            cost_usd=cost,
        )

    def _code_of(self, completion: Completion, stub: Stub, task: GenerationTask) -> str:
        """The code to inject; ``ReplyProblem`` when the reply cannot be used."""
        name = stub.qualified_name
        refused = completion.refusal or (
            "the provider's content filter stopped the reply"
            if completion.finish_reason == "content_filter"
            else None
        )
        if refused:
            raise ReplyProblem(
                f"the model refused to write {name}: {refused[:300]}",
                code=REPLY_REFUSED,
                finding_code="RPL003",
                excerpt=completion.content or "",
            )
        extracted = extract_code(
            completion.content, stub.name, finish_reason=completion.finish_reason
        )
        return settle_extras(
            extracted,
            stub,
            module_source=task.source,
            stub_names=[s.qualified_name for s in task.extraction.stubs],
        )

    def cost(self, completion: Completion) -> float:
        """USD for the call, from the configured prices; 0 when the model has none."""
        price = self.config.price(self.config.model, completion.model)
        if price is None:
            model = completion.model or self.config.model
            if model not in self._unpriced:
                self._unpriced.add(model)
                logger.info(
                    "no price is configured for model %s (CODEGEN_OPENAI_PRICES): "
                    "its cost is recorded as 0",
                    model,
                )
            return 0.0
        prompt_price, completion_price = price
        return round(
            completion.prompt_tokens / 1000 * prompt_price
            + completion.completion_tokens / 1000 * completion_price,
            10,
        )


HTTP_SHARD_SIZE = 16
"""Connections per pooled HTTP client. httpcore's pool scans every connection for every
queued request (quadratic in the pool size): beyond this many connections, the calls are
spread over several pooled clients (the default concurrency uses exactly one)."""


def _http_clients(config: OpenAIConfig) -> list[httpx.AsyncClient]:
    shards = -(-config.max_concurrency // HTTP_SHARD_SIZE)
    size = -(-config.max_concurrency // shards)
    return [
        httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 10.0)),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            headers={"User-Agent": "codegen-pipeline", "Accept": "application/json"},
        )
        for _ in range(shards)
    ]


def _findings_for(findings: Sequence[Finding], qualified_name: str) -> list[Finding]:
    """The findings in this body, and those not tied to any body."""
    return [f for f in findings if f.qualified_name in (qualified_name, None)]


def _combined(
    failures: list[tuple[str, GenerateError]], total: int, bodies: list[GeneratedBody]
) -> GenerateError:
    groups: dict[tuple[str, str], list[str]] = {}
    for name, error in failures:
        groups.setdefault((error.code, error.message), []).append(name)
    parts = [
        f"{_some(names)}: {code}: {_shorten(message)}"
        for (code, message), names in list(groups.items())[:MAX_ERRORS_IN_MESSAGE]
    ]
    if len(groups) > MAX_ERRORS_IN_MESSAGE:
        parts.append(f"{len(groups) - MAX_ERRORS_IN_MESSAGE} more error(s) in the details")
    codes = {error.code for _, error in failures}
    return GenerateError(
        f"could not generate {len(failures)} of {total} stub(s): " + "; ".join(parts),
        code=codes.pop() if len(codes) == 1 else GenerateError.code,
        failed=[name for name, _ in failures],
        failures=[
            {"qualified_name": name, "code": error.code, "message": error.message}
            for name, error in failures
        ],
        **_usage(failures, bodies),
    )


def _usage(
    failures: list[tuple[str, GenerateError]], bodies: list[GeneratedBody]
) -> dict[str, Any]:
    """Model, tokens and cost of every call, the failed ones included."""
    models = [b.model for b in bodies] + [e.details.get("model") for _, e in failures]
    return {
        "model": next((m for m in models if m), None),
        "prompt_tokens": sum(b.prompt_tokens for b in bodies)
        + sum(int(e.details.get("prompt_tokens", 0)) for _, e in failures),
        "completion_tokens": sum(b.completion_tokens for b in bodies)
        + sum(int(e.details.get("completion_tokens", 0)) for _, e in failures),
        "cost_usd": sum(b.cost_usd for b in bodies)
        + sum(float(e.details.get("cost_usd", 0.0)) for _, e in failures),
    }


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_IN_MESSAGE])
    hidden = len(names) - MAX_NAMES_IN_MESSAGE
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_message(response: httpx.Response) -> str:
    """The server's error message: OpenAI's {"error": {"message"}}, Ollama's {"error": "..."},
    else the start of the body."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = " ".join(response.text.split())
        return text[:MAX_ERROR_TEXT] or response.reason_phrase or "(no message)"
    message = _message_of(payload) if isinstance(payload, dict) else None
    return (message or json.dumps(payload)[:MAX_ERROR_TEXT])[:MAX_ERROR_TEXT]


def _message_of(payload: dict[str, Any]) -> str | None:
    error = payload.get("error")
    if isinstance(error, dict):
        parts = [str(error.get("message") or "").strip()]
        code = error.get("code") or error.get("type")
        if code:
            parts.append(f"({code})")
        return " ".join(p for p in parts if p) or None
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return None


REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where servers put a reasoning model's thinking: vLLM and DeepSeek ``reasoning_content``;
Ollama and OpenRouter ``reasoning``. Never taken as the answer."""

REASONING_PARTS = frozenset({"reasoning", "thinking", "reasoning_text", "summary_text"})
TEXT_PARTS = frozenset({"text", "output_text"})


def _answer_of(message: dict[str, Any]) -> tuple[str | None, str]:
    """(answer, reasoning) of a message: its content, minus ``<think>`` sections and content
    parts of reasoning types; the reasoning fields and those parts."""
    text, reasoning = _text_of(message.get("content"))
    thoughts = [
        value for key in REASONING_FIELDS if isinstance(value := message.get(key), str) and value
    ]
    if reasoning:
        thoughts.append(reasoning)
    if text is None:
        return None, "\n".join(thoughts)
    answer, thinking = split_reasoning(text)
    if thinking:
        thoughts.append(thinking)
    return answer, "\n".join(thoughts)


def _text_of(content: object) -> tuple[str | None, str]:
    """(text, reasoning) of a content string or list of parts."""
    if isinstance(content, str):
        return content, ""
    if not isinstance(content, list):
        return None, ""
    texts: list[str] = []
    thoughts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in REASONING_PARTS:
            thoughts.extend(_strings(part.get("text"), part.get(kind), part.get("summary")))
        elif kind is None or kind in TEXT_PARTS:
            texts.extend(_strings(part.get("text")))
    return ("".join(texts) if texts else None), "\n".join(thoughts)


def _strings(*values: object) -> list[str]:
    """The text in values that may be a string, a part, or a list of them."""
    found: list[str] = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(_strings(value.get("text")))
        elif isinstance(value, list):
            found.extend(_strings(*value))
    return found


def _looks_like_a_stream(text: str) -> bool:
    """Whether the first line that is not a comment (``: ping``) or blank is an SSE field."""
    for line in text.lstrip().splitlines():
        if line.strip() and not line.startswith(":"):
            return line.startswith(("data:", "event:", "id:"))
    return False


def _stream_events(text: str) -> list[dict[str, Any]] | None:
    """The JSON objects of an event stream's ``data:`` lines (``[DONE]`` aside); None when
    one is not JSON."""
    events: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue  # comments, event names, ids, blank separators
        data = line[len("data:") :].strip()
        if not data or data == "[DONE]":
            continue
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            return None
        if isinstance(event, dict):
            events.append(event)
    return events


def _folded_stream(events: list[dict[str, Any]], bad: Callable[[str], Exception]) -> dict[str, Any]:
    """One chat-completion object from the chunks of a streamed one."""
    content: list[str] = []
    reasoning: list[str] = []
    refusal: list[str] = []
    finish_reason: str | None = None
    folded: dict[str, Any] = {}
    for event in events:
        if "error" in event and not event.get("choices"):
            raise bad(f"the stream carried an error: {_message_of(event)}")
        for key in ("model", "usage"):
            if event.get(key):
                folded[key] = event[key]
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta, dict):
                text, thoughts = _text_of(delta.get("content"))
                content.append(text or "")
                reasoning.append(thoughts)
                reasoning.extend(
                    value for key in REASONING_FIELDS if isinstance(value := delta.get(key), str)
                )
                if isinstance(delta.get("refusal"), str):
                    refusal.append(delta["refusal"])
            finish_reason = _str_or_none(choice.get("finish_reason")) or finish_reason
    if finish_reason is None:
        raise bad("the event stream ended before the answer did (no finish_reason)")
    message = {
        "content": "".join(content),
        "reasoning_content": "".join(reasoning),
        "refusal": "".join(refusal) or None,
    }
    return {**folded, "choices": [{"message": message, "finish_reason": finish_reason}]}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _summed_usage(paid: Sequence[Mapping[str, Any]], last: Mapping[str, Any]) -> dict[str, Any]:
    """The model and the tokens of every answer paid for (``last`` when none was recorded)."""
    answers = list(paid) or [last]
    models = [a.get("model") for a in answers if a.get("model")]
    return {
        "model": models[-1] if models else None,
        "prompt_tokens": sum(_count(a.get("prompt_tokens")) for a in answers),
        "completion_tokens": sum(_count(a.get("completion_tokens")) for a in answers),
    }


def _plus_usage(completion: Completion, earlier: Sequence[Mapping[str, Any]]) -> Completion:
    """``completion`` with the tokens of the answers retried before it added."""
    if not earlier:
        return completion
    return replace(
        completion,
        prompt_tokens=completion.prompt_tokens
        + sum(_count(a.get("prompt_tokens")) for a in earlier),
        completion_tokens=completion.completion_tokens
        + sum(_count(a.get("completion_tokens")) for a in earlier),
    )


def _reported_usage(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``model``, ``prompt_tokens`` and ``completion_tokens`` of an answer: from its
    ``usage`` object, or from the same keys at the top (a failure's details)."""
    usage = payload.get("usage")
    counts = usage if isinstance(usage, dict) else payload
    model = payload.get("model")
    return {
        "model": model if isinstance(model, str) and model else None,
        "prompt_tokens": _count(counts.get("prompt_tokens")),
        "completion_tokens": _count(counts.get("completion_tokens")),
    }
