"""The ``openai`` generator through the whole pipeline: real broker, every stage worker a
separate OS process, and a scripted OpenAI-compatible server the workers call over HTTP.

The last test kills the generate worker with SIGKILL while records finish out of order and
checks at-least-once delivery: an input offset is committed only once its output is on the
broker, so every request still reaches exactly one terminal outcome.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import STAGES, TOPICS, topic_name
from pipeline.client import PipelineClient, build_request
from pipeline.records import (
    FileStored,
    GenerationRequest,
    MetricsEvent,
    Outcome,
    RequestFailed,
    decode,
)
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.stages.inject import inject_bodies
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES
from tests.support.llm_server import LLMServer, Received, Reply, fenced

pytestmark = pytest.mark.integration

RESULT_TIMEOUT = 240.0

# A dead worker leaves its consumer group after the session timeout (6 s is the broker's
# minimum): keeps the restart in the kill test short. Faust reads these from the environment.
# The five stage workers (not the metrics workers: not what is tested here).
STAGE_WORKERS = dict.fromkeys(STAGES, 1)
FAST_GROUP = {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1"}

# The bodies the scripted model answers with, by qualified name.
GOOD: dict[str, str] = {
    **json.loads((EXAMPLES / "inventory.bodies.json").read_text(encoding="utf-8")),
    **json.loads((EXAMPLES / "rate_limiter.bodies.json").read_text(encoding="utf-8")),
    "Ports.parse": "number = int(text)\nreturn number if 0 < number < 65536 else self.default",
    "Ports.clamp": "return max(1, min(65535, number))",
    "always_broken": "return count * 2",
    "double": "return number * 2",
    "label": "return f'{prefix}-{number:04d}'",
}

PORTS = '''\
"""Port numbers."""


class Ports:
    """Parse and clamp TCP ports."""

    default: int = 8080

    def parse(self, text: str) -> int:
        """The port in ``text``; the default when it is out of range."""
        ...

    def clamp(self, number: int) -> int:
        """``number`` clamped to 1..65535."""
        raise NotImplementedError
'''

ALWAYS_BROKEN = '''\
def always_broken(count: int) -> int:
    """Twice ``count``."""
    ...
'''

DOUBLE = '''\
def double(number: int) -> int:
    """Twice ``number``."""
    ...
'''

LABELS = '''\
"""Labels for numbered things."""


def double(number: int) -> int:
    """Twice ``number``."""
    ...


def label(prefix: str, number: int) -> str:
    """``prefix`` and ``number`` as PREFIX-0042.{note}"""
    ...
'''
SLOW = "Take your time."

# Python rejects it ("'await' outside async function") though it parses: the validator
# reports SYN002 and the repair loop asks again.
AWAIT_IN_SYNC = "await asyncio.sleep(0)\nreturn {}"


class Model:
    """Answers each prompt with the good body of its stub, unless a bad reply is queued.

    Runs on the server's thread; ``bad[name]`` is a queue, ``always_bad`` never runs out.
    Each reply waits a random time in ``latency``, plus ``slow`` when the prompt has SLOW.
    """

    def __init__(
        self,
        *,
        bad: dict[str, list[str]] | None = None,
        always_bad: dict[str, str] | None = None,
        latency: tuple[float, float] = (0.0, 0.0),
        slow: float = 0.0,
        seed: int = 7,
    ) -> None:
        self.bad = {name: list(replies) for name, replies in (bad or {}).items()}
        self.always_bad = dict(always_bad or {})
        self.latency = latency
        self.slow = slow
        self.random = random.Random(seed)
        self.served: Counter[str] = Counter()

    def __call__(self, request: Received) -> Reply:
        name = request.stub_name or ""
        self.served[name] += 1
        delay = self.random.uniform(*self.latency)
        if SLOW in request.user_prompt:
            delay += self.slow
        if name in self.always_bad:
            return fenced(self.always_bad[name], delay=delay)
        queued = self.bad.get(name)
        if queued:
            return fenced(queued.pop(0), delay=delay)
        return fenced(GOOD.get(name, "return None"), delay=delay)


@pytest.fixture
def model_server() -> Iterator[Callable[[Model], LLMServer]]:
    """A scripted server on its own thread, so the worker processes can reach it."""
    servers: list[LLMServer] = []

    def start(model: Model) -> LLMServer:
        server = LLMServer(default=model)
        servers.append(server)
        return server.start_in_thread()

    yield start
    for server in servers:
        server.stop_in_thread()


def openai_settings(
    settings_factory: Callable[..., Settings], server: LLMServer, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": server.base_url,
        "openai_model": "test-model",
        "openai_api_key": "sk-test-integration",
        "openai_timeout": 10.0,
        "openai_retry_initial_wait": 0.05,
        "openai_retry_max_wait": 0.2,
    }
    values.update(overrides)
    return settings_factory(**values)


def request_for(source: str, output_path: str) -> GenerationRequest:
    return GenerationRequest(source=source, output_path=output_path, generator="openai")


def example_request(name: str, output_path: str) -> GenerationRequest:
    request = build_request(EXAMPLES / name, output_path=output_path, generator="openai")
    return request.model_copy(update={"bodies": {}})


def expected(source: str) -> str:
    names = {stub.qualified_name for stub in extract_stubs(source).stubs}
    return inject_bodies(source, {name: GOOD[name] for name in names}).source


async def prepared(settings: Settings) -> Settings:
    from pipeline.broker.admin import ensure_topics

    await ensure_topics(settings)
    return settings


async def read_topic(
    settings: Settings,
    key: str,
    *,
    until: Callable[[list[Any]], bool] | None = None,
    timeout: float = 30.0,
) -> list[Any]:
    """Every record of a topic from its beginning, decoded; with ``until``, read until it
    holds (or ``timeout``), else up to the end offsets as they are now."""
    spec = TOPICS[key]
    name = topic_name(key, settings.topic_prefix)
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(spec.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                records.extend(decode(spec.value_model, m.value) for m in messages)
            if until is not None:
                if until(records):
                    return records
            elif await caught_up(consumer, ends):
                return records
        if until is not None:
            raise AssertionError(f"{name}: the expected records did not arrive in {timeout} s")
        return records
    finally:
        await consumer.stop()


async def caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def input_offsets(settings: Settings, key: str) -> dict[tuple[int, int], str]:
    """(partition, offset) → request id of every record on a topic so far."""
    name = topic_name(key, settings.topic_prefix)
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in range(TOPICS[key].partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[tuple[int, int], str] = {}
        while not await caught_up(consumer, ends):
            for tp, messages in (await consumer.getmany(timeout_ms=200)).items():
                for message in messages:
                    found[(tp.partition, message.offset)] = message.key.decode()
        return found
    finally:
        await consumer.stop()


async def committed_offsets(settings: Settings, stage: str, key: str) -> dict[int, int]:
    """The offsets the stage's consumer group committed on a topic, by partition."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{settings.topic_prefix}{stage}")
    finally:
        await admin.close()
    name = topic_name(key, settings.topic_prefix)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == name}


async def gather_results(
    client: PipelineClient, requests: list[GenerationRequest]
) -> dict[str, FileStored | RequestFailed]:
    ids = [r.request_id for r in requests]
    return {r.request_id: r async for r in client.results(ids, timeout=RESULT_TIMEOUT)}


def assert_stored(result: Any, settings: Settings, request: GenerationRequest) -> None:
    assert isinstance(result, FileStored), result
    written = Path(result.artifact.path)
    assert written == (settings.store_root / request.output_path).resolve()
    assert written.read_text(encoding="utf-8") == expected(request.source)


# ---------------------------------------------------------------- good, repaired, always bad


async def test_good_replies_a_repair_and_always_bad_replies(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    model = Model(
        bad={"Ports.parse": [AWAIT_IN_SYNC.format("self.default")]},
        always_bad={"always_broken": AWAIT_IN_SYNC.format("count * 2")},
    )
    server = model_server(model)
    settings = await prepared(openai_settings(settings_factory, server))
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS)

    good = [
        example_request("inventory.py", "good/inventory.py"),
        example_request("rate_limiter.py", "good/rate_limiter.py"),
    ]
    repaired = request_for(PORTS, "repaired/ports.py")
    hopeless = request_for(ALWAYS_BROKEN, "hopeless/always_broken.py")
    every = [*good, repaired, hopeless]
    for request in every:
        await client.submit(request)
    results = await gather_results(client, every)

    # (a) good replies: stored, every stub filled with the model's body.
    for request in good:
        assert_stored(results[request.request_id], settings, request)

    # (b) the first reply for Ports.parse does not compile; the second is fine.
    assert_stored(results[repaired.request_id], settings, repaired)
    assert model.served["Ports.parse"] == 2
    assert model.served["Ports.clamp"] == 1, "a passing body is not asked for again"
    parse_prompts = [r for r in server.completion_requests if r.stub_name == "Ports.parse"]
    assert "This is attempt 2" not in parse_prompts[0].user_prompt
    repair_prompt = parse_prompts[1]
    assert "This is attempt 2" in repair_prompt.user_prompt
    assert "'await' outside async function" in repair_prompt.user_prompt

    def complete(events: list[MetricsEvent]) -> bool:
        mine = [e for e in events if e.request_id == repaired.request_id]
        return {(e.stage, e.attempt, e.outcome) for e in mine} >= {
            ("generate", 1, Outcome.OK),
            ("generate", 2, Outcome.OK),
            ("validate", 1, Outcome.RETRY),
            ("validate", 2, Outcome.OK),
            ("verify", 2, Outcome.OK),
            ("store", 2, Outcome.OK),  # the record of the attempt that passed
        }

    metrics = await read_topic(settings, "metrics", until=complete)
    generate_attempts = sorted(
        e.attempt for e in metrics if e.request_id == repaired.request_id and e.stage == "generate"
    )
    assert generate_attempts == [1, 2]

    # (c) always-bad replies: failed by validate after max_attempts (3).
    failure = results[hopeless.request_id]
    assert isinstance(failure, RequestFailed), failure
    assert (failure.stage, failure.error_code, failure.attempts) == (
        "validate",
        "VALIDATION_FAILED",
        3,
    )
    assert "after 3 attempt(s)" in failure.message
    assert "SYN002" in {f["code"] for f in failure.details["findings"]}
    assert model.served["always_broken"] == 3
    assert not (settings.store_root / hopeless.output_path).exists()
    assert not workers.exited(), "no worker died"


# ---------------------------------------------------------------- the endpoint is down


async def test_the_endpoint_down_then_back(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    server = model_server(Model())
    breaker_reset = 1.0
    settings = await prepared(
        openai_settings(
            settings_factory,
            server,
            openai_retry_attempts=2,
            openai_retry_initial_wait=0.05,
            openai_retry_max_wait=0.1,
            openai_breaker_threshold=2,
            openai_breaker_reset=breaker_reset,
            openai_breaker_hold=0.0,  # fail fast on an open circuit (the default holds)
        )
    )
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS)
    server.stop_in_thread(keep_thread=True)

    down = request_for(DOUBLE, "down/double.py")
    failure = await client.submit_and_wait(down, timeout=RESULT_TIMEOUT)
    assert isinstance(failure, RequestFailed), failure
    assert failure.stage == "generate"
    assert failure.error_code == "LLM_UNAVAILABLE"
    assert server.base_url in failure.message
    assert "gave no answer after 2 attempt(s)" in failure.message
    assert failure.details["failures"][0]["qualified_name"] == "double"

    # The two failures opened the circuit: the next request fails fast.
    still_down = request_for(DOUBLE, "down/double-again.py")
    failure = await client.submit_and_wait(still_down, timeout=RESULT_TIMEOUT)
    assert isinstance(failure, RequestFailed), failure
    assert failure.error_code in ("LLM_CIRCUIT_OPEN", "LLM_UNAVAILABLE")
    assert not workers.exited(), "the generate worker keeps running"

    server.start_in_thread()
    await asyncio.sleep(breaker_reset + 0.5)  # the circuit lets a trial call through
    back = request_for(DOUBLE, "back/double.py")
    result = await client.submit_and_wait(back, timeout=RESULT_TIMEOUT)
    assert_stored(result, settings, back)
    assert not workers.exited()


async def test_a_brief_outage_is_held_back_and_the_work_goes_on(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    """The endpoint is down for a few seconds: the circuit opens, the calls wait for it instead
    of failing, and every request is stored once the endpoint is back."""
    server = model_server(Model())
    settings = await prepared(
        openai_settings(
            settings_factory,
            server,
            openai_retry_attempts=2,
            openai_breaker_threshold=2,
            openai_breaker_reset=1.0,
            openai_breaker_hold=120.0,
        )
    )
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS)
    server.stop_in_thread(keep_thread=True)
    requests = [request_for(LABELS.format(note=""), f"outage/{i}/labels.py") for i in range(6)]
    for request in requests:
        await client.submit(request)
    await asyncio.sleep(4.0)  # down long enough for the circuit to open
    server.start_in_thread()
    results = await gather_results(client, requests)
    for request in requests:
        assert_stored(results[request.request_id], settings, request)
    assert not workers.exited()


# ---------------------------------------------------------------- SIGKILL mid-stream


async def test_out_of_order_completion_and_a_killed_generate_worker(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    """60 requests, 20 in flight answered after 0-800 ms each (some after 6 s), so they finish
    out of order; the generate worker is killed with SIGKILL after about 20 outputs (once the
    group has committed), then replaced."""
    total, kill_after = 60, 20
    server = model_server(Model(latency=(0.0, 0.8), slow=6.0, seed=606))
    settings = await prepared(
        openai_settings(
            settings_factory, server, generate_concurrency=20, openai_max_concurrency=64
        )
    )
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS, env=FAST_GROUP)
    # Every tenth request is answered 6 s late: the records after it on its partition finish
    # first, and its offset must not be committed before it is done (faust-streaming #606).
    requests = [
        request_for(
            LABELS.format(note=f" {SLOW}" if index % 10 == 0 else ""),
            f"run/{index:02d}/labels.py",
        )
        for index in range(total)
    ]

    async def feed() -> None:  # paced, so the stream is still flowing when the kill comes
        for request in requests:
            await client.submit(request)
            await asyncio.sleep(0.05)

    feeder = asyncio.create_task(feed())

    # Wait for ~20 outputs and a commit of the generate group, then SIGKILL the worker.
    generated_ids: set[str] = set()
    deadline = time.monotonic() + RESULT_TIMEOUT
    while True:
        assert time.monotonic() < deadline, "the generate worker produced too little"
        records = await read_topic(settings, "generated", timeout=10.0)
        generated_ids = {r.request_id for r in records}
        if len(generated_ids) >= kill_after:
            committed = await committed_offsets(settings, "generate", "stubs")
            if any(offset > 0 for offset in committed.values()):
                break
        await asyncio.sleep(0.1)
    (generate,) = [w for w in workers.workers if w.stage == "generate"]
    generate.process.send_signal(signal.SIGKILL)
    generate.process.wait(10)
    assert generate.process.returncode == -signal.SIGKILL

    # The invariant: every input offset below the committed one has its output on the broker.
    committed = await committed_offsets(settings, "generate", "stubs")
    stubs = await input_offsets(settings, "stubs")
    produced = {r.request_id for r in await read_topic(settings, "generated")}
    assert len(produced) < total, "the worker was killed mid-stream"
    lost = sorted(
        (partition, offset, request_id)
        for (partition, offset), request_id in stubs.items()
        if offset < committed.get(partition, 0) and request_id not in produced
    )
    assert not lost, f"offsets committed before their output was produced: {lost}"

    workers_factory(settings, {"generate": 1}, env=FAST_GROUP)
    await feeder
    results = await gather_results(client, requests)

    assert len(results) == total, "every request reaches a terminal outcome"
    for request in requests:
        assert_stored(results[request.request_id], settings, request)
    ids = {r.request_id for r in requests}
    stored = await read_topic(settings, "stored")
    failed = await read_topic(settings, "failed")
    assert {r.request_id for r in stored} >= ids
    assert not {r.request_id for r in failed} & ids, "no request failed"
    generated = await read_topic(settings, "generated")
    assert {r.request_id for r in generated} >= ids
    assert not [w.name for w in workers.exited() if w.stage != "generate"]


# ---------------------------------------------------------------- the types rule


async def test_a_missing_attribute_is_repaired_and_a_hopeless_one_fails(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Awaitable[PipelineClient]],
    model_server: Callable[[Model], LLMServer],
) -> None:
    model = Model(
        # a typo only a type checker sees: syntax, ruff and bandit are all fine with it
        bad={"Ports.parse": ["number = int(text)\nreturn number if number else self.defualt"]},
        always_bad={"always_broken": "return count.doubled()"},
    )
    server = model_server(model)
    settings = await prepared(openai_settings(settings_factory, server))
    client = await client_factory(settings)
    workers = workers_factory(settings, STAGE_WORKERS)

    repaired = request_for(PORTS, "types/ports.py")
    hopeless = request_for(ALWAYS_BROKEN, "types/always_broken.py")
    for request in (repaired, hopeless):
        await client.submit(request)
    results = await gather_results(client, [repaired, hopeless])

    assert_stored(results[repaired.request_id], settings, repaired)
    assert model.served["Ports.parse"] == 2
    parse_prompts = [r for r in server.completion_requests if r.stub_name == "Ports.parse"]
    assert "has no attribute `defualt`" in parse_prompts[1].user_prompt

    failure = results[hopeless.request_id]
    assert isinstance(failure, RequestFailed), failure
    assert (failure.stage, failure.error_code) == ("validate", "VALIDATION_FAILED")
    assert {f["code"] for f in failure.details["findings"]} == {"TY-missing-attribute"}
    assert not (settings.store_root / hopeless.output_path).exists()
    assert not workers.exited(), "no worker died"
