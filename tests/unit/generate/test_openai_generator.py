"""The openai generator against a real HTTP server with scripted answers."""

from __future__ import annotations

import ast
import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from pipeline.models import Finding, Severity
from pipeline.stages.extract import extract_stubs
from pipeline.stages.generate import GenerateError, GenerationTask
from pipeline.stages.generate.problems import ReplyProblems
from pipeline.stages.generate.prompts import PROMPT_VERSION
from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import Received, Reply, completion, error, fenced

from .helpers import API_KEY, RecordingSleep, generator, task


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def by_stub(replies: dict[str, Reply], default: Reply | None = None) -> Callable[[Received], Reply]:
    def respond(request: Received) -> Reply:
        name = request.stub_name
        assert name is not None
        return replies.get(name, default or fenced("return None"))

    return respond


# ---------------------------------------------------------------- good replies


async def test_a_good_reply_gives_one_body_per_stub(llm_server: LLMServerFactory) -> None:
    server = await llm_server(
        default=by_stub(
            {
                "Cart.total": fenced(
                    "return sum((prices[s] * q for s, q in self.items.items()), Decimal(0))",
                    prompt_tokens=120,
                    completion_tokens=30,
                ),
                "Cart.checkout": fenced("return await gateway.charge(self)"),
                "slugify": fenced('return "-".join(text.lower().split())'),
            }
        )
    )
    gen = generator(server)
    bodies = await gen.generate(task())
    await gen.aclose()

    assert [b.qualified_name for b in bodies] == ["Cart.total", "Cart.checkout", "slugify"]
    total = bodies[0]
    assert total.code.startswith("return sum(")
    assert total.generator == "openai"
    assert total.model == "test-model"
    assert total.attempt == 1
    assert total.prompt_version == PROMPT_VERSION
    assert (total.prompt_tokens, total.completion_tokens) == (120, 30)
    assert bodies[1].code == "return await gateway.charge(self)"

    assert len(server.requests) == 3
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.json["model"] == "test-model"
    assert request.json["temperature"] == 0.2
    assert request.json["max_tokens"] == 2048
    assert [m["role"] for m in request.json["messages"]] == ["system", "user"]


async def test_fences_and_prose_are_removed(llm_server: LLMServerFactory) -> None:
    reply = (
        "Sure! Here is the implementation you asked for:\n\n"
        "```py\n"
        "words = text.lower().split()\n"
        'return "-".join(words)\n'
        "```\n\n"
        "It lower-cases the text and joins the words with dashes.\n"
        "```bash\npip install nothing\n```\n"
    )
    server = await llm_server(default=completion(reply))
    gen = generator(server)
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert body.code == 'words = text.lower().split()\nreturn "-".join(words)'


async def test_a_whole_def_is_returned_as_a_def(llm_server: LLMServerFactory) -> None:
    reply = (
        "```python\n"
        "def slugify(text: str) -> str:\n"
        '    """Lower-case the text."""\n'
        '    return "-".join(text.lower().split())\n'
        "\n"
        'print(slugify("A B"))\n'
        "```"
    )
    server = await llm_server(default=completion(reply))
    gen = generator(server)
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert body.code.startswith("def slugify(text: str) -> str:")
    assert "print" not in body.code  # the example call is dropped
    tree = ast.parse(body.code)
    assert isinstance(tree.body[0], ast.FunctionDef)


async def test_a_reply_without_code_is_a_finding(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=completion("I am sorry, but I cannot help with that."))
    gen = generator(server)
    with pytest.raises(ReplyProblems) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert caught.value.code == "REPLY_UNUSABLE"
    [finding] = caught.value.findings
    assert (finding.qualified_name, finding.rule, finding.code) == ("slugify", "reply", "RPL001")
    assert "no usable code" in finding.message
    assert len(server.requests) == 1  # not retried: the endpoint works


async def test_a_cut_reply_says_so(llm_server: LLMServerFactory) -> None:
    server = await llm_server(
        default=completion("```python\nfor word in text.split(:\n", finish_reason="length")
    )
    gen = generator(server)
    with pytest.raises(ReplyProblems) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    [finding] = caught.value.findings
    assert finding.code == "RPL002"
    assert "token limit" in finding.message


async def test_a_refusal_is_a_reply_problem(llm_server: LLMServerFactory) -> None:
    body = completion(None).body
    body["choices"][0]["message"]["refusal"] = "I can't do that."
    server = await llm_server(default=Reply(body=body))
    gen = generator(server)
    with pytest.raises(ReplyProblems) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    [finding] = caught.value.findings
    assert finding.code == "RPL003"
    assert "refused" in finding.message


async def test_a_failed_call_fails_the_request_and_names_it(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server(
        default=by_stub(
            {"Cart.checkout": error(400, "bad"), "slugify": completion("No code.")},
            fenced("return 1"),
        )
    )
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task())
    await gen.aclose()
    error_ = caught.value
    assert not isinstance(error_, ReplyProblems)
    assert "2 of 3 stub(s)" in error_.message
    assert "Cart.checkout" in error_.message
    assert error_.details["failed"] == ["Cart.checkout", "slugify"]
    assert error_.details["prompt_tokens"] == 20  # every call's tokens are accounted for


async def test_many_unusable_replies_keep_the_message_short(llm_server: LLMServerFactory) -> None:
    source = "".join(f'def stub_{i}() -> int:\n    """Stub {i}."""\n    ...\n\n' for i in range(40))
    server = await llm_server(default=completion("No code today."))
    gen = generator(server)
    with pytest.raises(ReplyProblems) as caught:
        await gen.generate(GenerationTask(extraction=extract_stubs(source)))
    await gen.aclose()
    message = caught.value.message
    assert "40 stub(s)" in message
    assert "and 35 more" in message
    assert len(message) < 600
    assert len(caught.value.findings) == 40  # the findings still name every stub


async def test_many_kinds_of_failure_are_counted_not_listed(llm_server: LLMServerFactory) -> None:
    statuses = {"Cart.total": 400, "Cart.checkout": 401, "slugify": 403}
    server = await llm_server(default=by_stub({n: error(s) for n, s in statuses.items()}))
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task())
    await gen.aclose()
    assert caught.value.message.count(": LLM_") <= 2
    assert "more error(s) in the details" in caught.value.message
    assert len(caught.value.details["failures"]) == 3


# ---------------------------------------------------------------- bad responses


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body={"id": "x", "choices": [], "usage": {}}),
        Reply(body="<html>Bad gateway</html>", headers={"Content-Type": "text/html"}),
        Reply(body={"choices": [{"index": 0}]}),
        Reply(body=[1, 2, 3]),
    ],
    ids=["empty-choices", "not-json", "no-message", "not-an-object"],
)
async def test_a_malformed_response_is_bad_llm_response(
    llm_server: LLMServerFactory, reply: Reply
) -> None:
    server = await llm_server(default=reply)
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert caught.value.code == "BAD_LLM_RESPONSE"
    assert "unusable answer 4 time(s)" in caught.value.message
    assert len(server.requests) == 4  # retried like a transient error, then given up


async def test_content_parts_are_joined(llm_server: LLMServerFactory) -> None:
    body = completion(None).body
    body["choices"][0]["message"]["content"] = [
        {"type": "text", "text": "```python\nreturn "},
        {"type": "text", "text": "text.lower()\n```"},
    ]
    server = await llm_server(default=Reply(body=body))
    gen = generator(server)
    [result] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert result.code == "return text.lower()"


# ---------------------------------------------------------------- retries


async def test_429_with_retry_after_seconds_is_honoured(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(error(429, "slow down", headers={"Retry-After": "2"}), fenced("return 1"))
    sleep = RecordingSleep()
    gen = generator(server, sleep=sleep, openai_retry_max_wait=10.0)
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert body.code == "return 1"
    assert sleep.waits == [2.0]
    assert len(server.requests) == 2


async def test_429_with_retry_after_http_date_is_honoured(llm_server: LLMServerFactory) -> None:
    when = datetime.now(UTC) + timedelta(seconds=5)
    server = await llm_server()
    server.enqueue(
        error(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
        fenced("return 1"),
    )
    sleep = RecordingSleep()
    gen = generator(server, sleep=sleep, openai_retry_max_wait=10.0)
    await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    [wait] = sleep.waits
    assert 2.0 <= wait <= 5.0


async def test_retry_after_is_capped(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(error(503, headers={"Retry-After": "3600"}), fenced("return 1"))
    sleep = RecordingSleep()
    gen = generator(server, sleep=sleep, openai_retry_max_wait=1.5)
    await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert sleep.waits == [1.5]


async def test_real_wait_for_a_short_retry_after(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(error(429, headers={"Retry-After": "0.3"}), fenced("return 1"))
    gen = generator(server, openai_retry_max_wait=5.0)
    await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    first, second = server.requests
    assert second.received_at - first.received_at >= 0.28


async def test_a_500_then_success(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(error(500, "internal"), fenced("return 2"))
    sleep = RecordingSleep()
    gen = generator(server, sleep=sleep, openai_retry_initial_wait=0.5)
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert body.code == "return 2"
    assert len(server.requests) == 2
    [wait] = sleep.waits
    assert 0 <= wait <= 0.5  # full jitter under the first backoff step


async def test_backoff_grows_exponentially(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(error(502), error(502), error(502), fenced("return 2"))
    sleep = RecordingSleep()
    gen = generator(
        server,
        sleep=sleep,
        openai_retry_initial_wait=1.0,
        openai_retry_max_wait=3.0,
        openai_breaker_threshold=10,
    )
    await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert len(sleep.waits) == 3
    for wait, ceiling in zip(sleep.waits, [1.0, 2.0, 3.0], strict=True):
        assert 0 <= wait <= ceiling


async def test_a_timeout_then_success(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(fenced("return 0", delay=2.0), fenced("return 3"))
    gen = generator(server, openai_timeout=0.3)
    started = time.monotonic()
    [body] = await gen.generate(task(only=["slugify"]))
    elapsed = time.monotonic() - started
    await gen.aclose()
    assert body.code == "return 3"
    assert len(server.requests) == 2
    assert elapsed < 1.5


async def test_a_dropped_connection_then_success(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    server.enqueue(Reply(disconnect=True), fenced("return 4"))
    gen = generator(server)
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert body.code == "return 4"


async def test_retries_are_exhausted(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=error(503, "overloaded"))
    gen = generator(server, openai_retry_attempts=3, openai_breaker_threshold=10)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert caught.value.code == "LLM_UNAVAILABLE"
    assert "after 3 attempt(s)" in caught.value.message
    assert "overloaded" in caught.value.message
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_rejected_request_is_not_retried(llm_server: LLMServerFactory, status: int) -> None:
    server = await llm_server(default=error(status, f"nope {status}", code="bad"))
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert caught.value.code == "LLM_REQUEST_REJECTED"
    [failure] = caught.value.details["failures"]
    assert f"HTTP {status}" in failure["message"]
    assert f"nope {status}" in failure["message"]
    assert len(server.requests) == 1


async def test_exhausted_quota_is_not_retried(llm_server: LLMServerFactory) -> None:
    server = await llm_server(
        default=error(429, "You exceeded your current quota", code="insufficient_quota")
    )
    gen = generator(server)
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert caught.value.code == "LLM_REQUEST_REJECTED"
    assert len(server.requests) == 1


# ---------------------------------------------------------------- circuit breaker


async def test_a_down_server_opens_the_circuit_and_it_recovers(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server(default=fenced("return 5"))
    await server.stop()
    clock = FakeClock()
    sleep = RecordingSleep()
    gen = generator(
        server,
        sleep=sleep,
        clock=clock,
        openai_retry_attempts=2,
        openai_breaker_threshold=3,
        openai_breaker_reset=30.0,
    )
    one = task(only=["slugify"])

    with pytest.raises(GenerateError) as first:
        await gen.generate(one)
    assert first.value.code == "LLM_UNAVAILABLE"  # 2 attempts, both refused
    assert "ConnectError" in first.value.message

    with pytest.raises(GenerateError) as second:
        await gen.generate(one)  # the 3rd failure opens the circuit, the retry fails fast
    assert second.value.code == "LLM_CIRCUIT_OPEN"

    waits = len(sleep.waits)
    started = time.monotonic()
    with pytest.raises(GenerateError) as third:
        await gen.generate(one)
    assert time.monotonic() - started < 0.1
    assert len(sleep.waits) == waits  # no retry, no wait: failed fast
    assert third.value.code == "LLM_CIRCUIT_OPEN"
    assert "next trial call is in 30.0 s" in third.value.message

    await server.start()
    clock.advance(10)
    with pytest.raises(GenerateError) as still_open:
        await gen.generate(one)
    assert still_open.value.code == "LLM_CIRCUIT_OPEN"
    assert "in 20.0 s" in still_open.value.message
    assert server.requests == []

    clock.advance(21)  # past the reset timeout: a trial call goes through and closes it
    [body] = await gen.generate(one)
    assert body.code == "return 5"
    assert gen.client.breaker.state.value == "closed"
    assert len(await gen.generate(task())) == 3
    await gen.aclose()


async def test_an_open_circuit_sends_nothing(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=error(500))
    clock = FakeClock()
    gen = generator(server, clock=clock, openai_retry_attempts=1, openai_breaker_threshold=2)
    for _ in range(2):
        with pytest.raises(GenerateError):
            await gen.generate(task(only=["slugify"]))
    assert len(server.requests) == 2
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task())
    assert caught.value.code == "LLM_CIRCUIT_OPEN"
    assert caught.value.details["failed"] == ["Cart.total", "Cart.checkout", "slugify"]
    assert len(server.requests) == 2

    # a failed trial call opens it again for a whole reset period
    clock.advance(31)
    with pytest.raises(GenerateError):
        await gen.generate(task(only=["slugify"]))
    assert len(server.requests) == 3
    clock.advance(29)
    with pytest.raises(GenerateError) as again:
        await gen.generate(task(only=["slugify"]))
    assert again.value.code == "LLM_CIRCUIT_OPEN"
    assert len(server.requests) == 3
    await gen.aclose()


async def test_rejections_do_not_open_the_circuit(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=error(400, "bad request"))
    gen = generator(server, openai_breaker_threshold=2)
    for _ in range(4):
        with pytest.raises(GenerateError) as caught:
            await gen.generate(task(only=["slugify"]))
        assert caught.value.code == "LLM_REQUEST_REJECTED"
    assert gen.client.breaker.state.value == "closed"
    await gen.aclose()


async def test_small_real_reset_timeout(llm_server: LLMServerFactory) -> None:
    server = await llm_server(default=fenced("return 6"))
    await server.stop()
    gen = generator(
        server, openai_retry_attempts=1, openai_breaker_threshold=1, openai_breaker_reset=0.2
    )
    with pytest.raises(GenerateError):
        await gen.generate(task(only=["slugify"]))
    await server.start()
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    assert caught.value.code == "LLM_CIRCUIT_OPEN"
    await asyncio.sleep(0.25)
    [body] = await gen.generate(task(only=["slugify"]))
    assert body.code == "return 6"
    await gen.aclose()


# ---------------------------------------------------------------- concurrency


def _many_stubs(count: int) -> GenerationTask:
    source = "\n\n".join(f"def f{i}(x: int) -> int:\n    ..." for i in range(count)) + "\n"
    return GenerationTask(extraction=extract_stubs(source))


async def test_stubs_are_generated_concurrently_within_the_limit(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server(latency=0.1)
    gen = generator(server, openai_max_concurrency=4)
    started = time.monotonic()
    bodies = await gen.generate(_many_stubs(12))
    elapsed = time.monotonic() - started
    await gen.aclose()
    assert len(bodies) == 12
    assert server.max_in_flight == 4
    assert elapsed < 0.1 * 12  # parallel, not one after the other


async def test_the_limit_is_shared_by_concurrent_requests(llm_server: LLMServerFactory) -> None:
    server = await llm_server(latency=0.05)
    gen = generator(server, openai_max_concurrency=3)
    results = await asyncio.gather(*(gen.generate(_many_stubs(5)) for _ in range(4)))
    await gen.aclose()
    assert [len(r) for r in results] == [5, 5, 5, 5]
    assert server.max_in_flight == 3


# ---------------------------------------------------------------- prompts


async def test_the_prompt_carries_the_context_and_the_house_rules(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server()
    gen = generator(server, error_class="ShopError", log_function="log_event")
    await gen.generate(task(only=["Cart.total"]))
    await gen.aclose()
    [request] = server.requests
    system, user = request.system_prompt, request.user_prompt
    assert "ShopError" in system and "log_event" in system
    assert "print()" in system
    assert "Annotate every parameter" in system
    assert "```python" in system
    assert "Write the body of `Cart.total`" in user
    for imported in ("from decimal import Decimal", "from shop.errors import ModelOnexError"):
        assert imported in user
    assert "class `Cart`(BaseCart)" in user
    assert "A customer's cart: items and their quantities." in user
    assert "def add(self, sku: str, quantity: int = 1) -> None:" in user
    assert "def total(self, prices: dict[str, Decimal]) -> Decimal:" in user
    assert "The price of every item times its quantity." in user
    assert "previous" not in user


async def test_a_repair_prompt_has_the_findings_and_the_previous_code(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server(default=fenced("return Decimal(0)"))
    findings = [
        Finding(
            rule="house_rules",
            code="HR001",
            severity=Severity.ERROR,
            line=14,
            message="raise ModelOnexError instead of ValueError",
            qualified_name="Cart.total",
        ),
        Finding(
            rule="house_rules",
            code="HR002",
            severity=Severity.ERROR,
            line=30,
            message="print() in slugify",
            qualified_name="slugify",
        ),
    ]
    gen = generator(server)
    bodies = await gen.generate(
        task(
            attempt=2,
            findings=findings,
            previous_bodies={"Cart.total": "raise ValueError('no price')", "slugify": "x"},
            only=["Cart.total"],
        )
    )
    await gen.aclose()
    assert [(b.qualified_name, b.attempt) for b in bodies] == [("Cart.total", 2)]
    [request] = server.requests
    user = request.user_prompt
    assert "attempt 2" in user
    assert "raise ValueError('no price')" in user
    assert "[house_rules HR001] line 14: raise ModelOnexError instead of ValueError" in user
    assert "HR002" not in user  # another stub's finding


# ---------------------------------------------------------------- tokens and cost


async def test_tokens_and_cost_are_recorded(llm_server: LLMServerFactory) -> None:
    server = await llm_server(
        default=fenced(
            "return 1", prompt_tokens=1000, completion_tokens=500, model="test-model-0613"
        )
    )
    gen = generator(server, openai_prices={"test-model": (0.5, 1.5), "test": (9.0, 9.0)})
    bodies = await gen.generate(task())
    await gen.aclose()
    for body in bodies:
        assert (body.prompt_tokens, body.completion_tokens) == (1000, 500)
        assert body.cost_usd == pytest.approx(0.5 + 0.75)
        assert body.model == "test-model-0613"


async def test_an_unpriced_model_costs_nothing_and_no_usage_counts_zero(
    llm_server: LLMServerFactory,
) -> None:
    reply = fenced("return 1")
    del reply.body["usage"]
    server = await llm_server(default=reply)
    gen = generator(server, openai_prices={"other": (1.0, 1.0)})
    [body] = await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    assert (body.prompt_tokens, body.completion_tokens, body.cost_usd) == (0, 0, 0.0)


async def test_extra_body_adds_and_removes_keys(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    gen = generator(
        server,
        openai_extra_body={"max_tokens": None, "max_completion_tokens": 900, "seed": 7},
        openai_api_key=None,
    )
    await gen.generate(task(only=["slugify"]))
    await gen.aclose()
    [request] = server.requests
    assert "max_tokens" not in request.json
    assert request.json["max_completion_tokens"] == 900
    assert request.json["seed"] == 7
    assert "Authorization" not in request.headers


# ---------------------------------------------------------------- the API key


async def test_the_api_key_never_shows(
    llm_server: LLMServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"Incorrect API key provided: {API_KEY}"
    server = await llm_server()
    server.enqueue(
        error(500, echo),  # retried: logged
        error(401, echo),
        *[Reply(status=200, body=f"not json {API_KEY}")] * 4,  # retried, then given up
    )
    gen = generator(server, openai_breaker_threshold=100)
    errors: list[GenerateError] = []
    for _ in range(2):
        with pytest.raises(GenerateError) as caught:
            await gen.generate(task(only=["slugify"]))
        errors.append(caught.value)
    await server.stop()
    with pytest.raises(GenerateError) as down:
        await gen.generate(task(only=["slugify"]))
    errors.append(down.value)
    assert [e.code for e in errors] == [
        "LLM_REQUEST_REJECTED",
        "BAD_LLM_RESPONSE",
        "LLM_UNAVAILABLE",
    ]
    assert "***" in errors[0].message  # the server's echo, redacted

    shown = [caplog.text, repr(gen), repr(gen.client), repr(gen.config), str(gen.config)]
    for e in errors:
        shown += [str(e), repr(e), repr(e.details), repr(e.__cause__), repr(e.__context__)]
    for text in shown:
        assert API_KEY not in text
    assert "Incorrect API key" in caplog.text  # the retried 500 was logged, redacted
    await gen.aclose()


async def test_high_concurrency_spreads_over_pooled_clients(llm_server: LLMServerFactory) -> None:
    server = await llm_server(latency=0.3)
    gen = generator(server, openai_max_concurrency=40)
    assert len(gen.client.http_clients) == 3
    started = time.monotonic()
    bodies = await gen.generate(_many_stubs(80))
    elapsed = time.monotonic() - started
    await gen.aclose()
    assert len(bodies) == 80
    assert server.max_in_flight == 40
    assert elapsed < 0.3 * 80 / 4  # two waves of 40, not 80 calls one after the other
    assert all(client.is_closed for client in gen.client.http_clients)


# ---------------------------------------------------------------- an outage held back


async def test_an_open_circuit_holds_the_calls_until_the_endpoint_is_back(
    llm_server: LLMServerFactory,
) -> None:
    server = await llm_server(default=fenced("return 7"))
    await server.stop()
    gen = generator(
        server,
        openai_retry_attempts=2,
        openai_breaker_threshold=2,
        openai_breaker_reset=0.2,
        openai_breaker_hold=10.0,
    )

    async def back_after(seconds: float) -> None:
        await asyncio.sleep(seconds)
        await server.start()

    started = time.monotonic()
    comeback = asyncio.create_task(back_after(1.0))
    bodies = await gen.generate(task())  # three stubs, every call held while it is down
    elapsed = time.monotonic() - started
    await comeback
    await gen.aclose()
    assert [b.code for b in bodies] == ["return 7"] * 3
    assert 1.0 <= elapsed < 5.0
    assert gen.client.breaker.state.value == "closed"


async def test_the_hold_is_bounded(llm_server: LLMServerFactory) -> None:
    server = await llm_server()
    await server.stop()
    gen = generator(
        server,
        openai_retry_attempts=1,
        openai_breaker_threshold=1,
        openai_breaker_reset=0.2,
        openai_breaker_hold=1.0,
    )
    started = time.monotonic()
    with pytest.raises(GenerateError) as caught:
        await gen.generate(task(only=["slugify"]))
    elapsed = time.monotonic() - started
    await gen.aclose()
    assert caught.value.code in ("LLM_CIRCUIT_OPEN", "LLM_UNAVAILABLE")
    assert 0.9 <= elapsed < 3.0
