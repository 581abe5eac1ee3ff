"""The repair loop in process: generate → validate → repairs → generate, no Kafka.

The ``openai`` generator talks real HTTP to the scripted server; the validate processor
routes failing bodies back with their findings until ``max_attempts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import StageError
from pipeline.models import Finding, Severity
from pipeline.processors import Routed
from pipeline.processors.extract import ExtractProcessor
from pipeline.processors.stages import (
    GenerateProcessor,
    InjectProcessor,
    ValidateProcessor,
    VerifyProcessor,
)
from pipeline.processors.store import StoreProcessor
from pipeline.records import (
    CodeGenerated,
    CodeValidated,
    CodeVerified,
    FileStored,
    GenerationRequest,
    Outcome,
    RequestFailed,
    StubsExtracted,
    decode,
)
from pipeline.settings import Settings
from pipeline.stages.inject import inject_bodies
from pipeline.workers.runner import StageRunner
from tests.fixtures import EXAMPLES
from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import LLMServer, Received, Reply, cut, fenced, refusal

SOURCE = (EXAMPLES / "rate_limiter.py").read_text(encoding="utf-8")
GOOD: dict[str, str] = json.loads(
    (EXAMPLES / "rate_limiter.bodies.json").read_text(encoding="utf-8")
)
STUBS = ["TokenBucket._refill", "TokenBucket.try_acquire", "TokenBucket.acquire", "per_second"]
# Python's "SyntaxError: 'await' outside async function": the reply parses (so the generator
# takes it), the compiler rejects it (so the validator reports it: SYN002).
BROKEN = "await asyncio.sleep(0)\nreturn TokenBucket(capacity=float(limit), rate=float(limit))"
STILL_BROKEN = "await asyncio.sleep(1)\nreturn TokenBucket(capacity=float(limit), rate=1.0)"
SYNTAX_MESSAGE = "'await' outside async function"


class Scripted:
    """Answers each stub with its good body, except ``bad`` stubs: the listed replies first."""

    def __init__(self, bad: dict[str, list[str]] | None = None) -> None:
        self.bad = {name: list(replies) for name, replies in (bad or {}).items()}

    def __call__(self, request: Received) -> Reply:
        name = request.stub_name
        assert name in GOOD, f"a prompt for an unknown stub: {name!r}"
        queued = self.bad.get(name)
        return fenced(queued.pop(0) if queued else GOOD[name])


def make_settings(server: LLMServer, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": server.base_url,
        "openai_model": "test-model",
        "openai_timeout": 5.0,
        "openai_retry_initial_wait": 0.01,
        "openai_retry_max_wait": 0.05,
        "store_root": tmp_path / "store",
        "state_dir": tmp_path / "state",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Chain:
    """The processors of a worker each, wired by hand."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.extract = ExtractProcessor(settings)
        self.generate = GenerateProcessor(settings)
        self.validate = ValidateProcessor(settings)
        self.inject = InjectProcessor()
        self.verify = VerifyProcessor(settings)
        self.store = StoreProcessor(settings)

    async def stubs(self, output_path: str = "repaired/rate_limiter.py") -> StubsExtracted:
        request = GenerationRequest(source=SOURCE, output_path=output_path, generator="openai")
        return await self.extract.process(request)

    async def generated(self, record: StubsExtracted) -> CodeGenerated:
        generated = await self.generate.process(record)
        assert isinstance(generated, CodeGenerated)
        return generated

    async def aclose(self) -> None:
        await self.generate.aclose()


@pytest.fixture
async def scripted_chain(
    llm_server: LLMServerFactory, tmp_path: Path
) -> Any:  # an async factory: (script, **settings) -> (server, chain)
    chains: list[Chain] = []

    async def make(script: Scripted, **overrides: Any) -> tuple[LLMServer, Chain]:
        server = await llm_server(default=script)
        chain = Chain(make_settings(server, tmp_path, **overrides))
        chains.append(chain)
        return server, chain

    yield make
    for chain in chains:
        await chain.aclose()


async def test_a_syntax_error_is_repaired_and_only_the_failing_stub_is_regenerated(
    scripted_chain: Any,
) -> None:
    server, chain = await scripted_chain(Scripted({"per_second": [BROKEN]}))
    stubs = await chain.stubs()
    assert [s.qualified_name for s in stubs.extraction.stubs] == STUBS
    assert stubs.attempt == 1

    # Attempt 1: one prompt per stub; per_second comes back with a syntax error.
    first = await chain.generated(stubs)
    assert len(server.completion_requests) == 4
    assert first.attempt == 1
    assert [b.qualified_name for b in first.bodies] == STUBS
    assert {b.attempt for b in first.bodies} == {1}
    assert {b.generator for b in first.bodies} == {"openai"}

    routed = await chain.validate.process(first)
    assert isinstance(routed, Routed)
    assert routed.topic == "repairs"
    repair = routed.record
    assert isinstance(repair, StubsExtracted)
    assert repair.request_id == stubs.request_id
    assert repair.attempt == 2
    assert repair.previous_bodies == first.bodies
    assert [(f.qualified_name, f.rule, f.code) for f in repair.findings] == [
        ("per_second", "syntax", "SYN002")
    ]
    assert SYNTAX_MESSAGE in repair.findings[0].message

    # Attempt 2: one prompt, for per_second only, with the finding and the rejected code.
    server.reset()
    second = await chain.generated(repair)
    assert len(server.completion_requests) == 1
    prompt = server.completion_requests[0]
    assert prompt.stub_name == "per_second"
    assert "This is attempt 2" in prompt.user_prompt
    assert SYNTAX_MESSAGE in prompt.user_prompt
    assert "SYN002" in prompt.user_prompt
    assert BROKEN.strip() in prompt.user_prompt

    assert second.attempt == 2
    assert [b.qualified_name for b in second.bodies] == STUBS, "module order is kept"
    by_name = {b.qualified_name: b for b in second.bodies}
    assert by_name["per_second"].attempt == 2
    assert by_name["per_second"].code.strip() == GOOD["per_second"].strip()
    for before in first.bodies[:3]:
        assert by_name[before.qualified_name] == before, "a passing body is kept as it was"

    validated = await chain.validate.process(second)
    assert isinstance(validated, CodeValidated)
    assert validated.attempt == 2
    assert validated.report.passed

    injected = await chain.inject.process(validated)
    verified = await chain.verify.process(injected)
    assert isinstance(verified, CodeVerified)
    stored = await chain.store.process(verified)
    assert isinstance(stored, FileStored)
    written = Path(stored.artifact.path)
    assert written == (chain.settings.store_root / "repaired/rate_limiter.py").resolve()
    assert written.read_text(encoding="utf-8") == inject_bodies(SOURCE, GOOD).source
    assert stored.filled == STUBS


async def test_always_bad_replies_fail_with_validation_failed_after_max_attempts(
    scripted_chain: Any,
) -> None:
    server, chain = await scripted_chain(Scripted({"per_second": [BROKEN] * 10}))
    assert chain.settings.max_attempts == 3, "the default"
    record = await chain.stubs()
    prompts_per_attempt = []
    seen_attempts = []
    for attempt in (1, 2):
        server.reset()
        generated = await chain.generated(record)
        prompts_per_attempt.append(len(server.completion_requests))
        seen_attempts.append((generated.attempt, _attempt_of(generated, "per_second")))
        routed = await chain.validate.process(generated)
        assert isinstance(routed, Routed), f"attempt {attempt} is routed to repairs"
        assert isinstance(routed.record, StubsExtracted)
        record = routed.record
        assert record.attempt == attempt + 1

    server.reset()
    last = await chain.generated(record)
    prompts_per_attempt.append(len(server.completion_requests))
    seen_attempts.append((last.attempt, _attempt_of(last, "per_second")))
    assert prompts_per_attempt == [4, 1, 1]
    assert seen_attempts == [(1, 1), (2, 2), (3, 3)]
    assert "This is attempt 3" in server.completion_requests[0].user_prompt

    with pytest.raises(StageError) as raised:
        await chain.validate.process(last)
    error = raised.value
    assert error.code == "VALIDATION_FAILED"
    assert error.details["attempts"] == 3
    findings = error.details["findings"]
    assert [(f["qualified_name"], f["code"]) for f in findings] == [("per_second", "SYN002")]
    assert "after 3 attempt(s)" in error.message
    assert "per_second" in error.message

    # The worker's runner turns it into a failed record that says so.
    outgoing = await StageRunner(chain.validate, chain.settings).handle(
        last.request_id.encode(), last.model_dump_json().encode(), "generated[0]@7"
    )
    assert [o.topic for o in outgoing] == ["failed", "metrics"]
    failed = decode(RequestFailed, outgoing[0].value)
    assert failed.stage == "validate"
    assert failed.error_code == "VALIDATION_FAILED"
    assert failed.attempts == 3
    assert failed.details["findings"][0]["qualified_name"] == "per_second"


async def test_the_number_of_attempts_is_configurable(scripted_chain: Any) -> None:
    _server, chain = await scripted_chain(
        Scripted({"per_second": [BROKEN, STILL_BROKEN]}), max_attempts=2
    )
    first = await chain.generated(await chain.stubs())
    routed = await chain.validate.process(first)
    assert isinstance(routed, Routed)
    assert isinstance(routed.record, StubsExtracted)
    second = await chain.generated(routed.record)
    with pytest.raises(StageError) as raised:
        await chain.validate.process(second)
    assert raised.value.code == "VALIDATION_FAILED"
    assert raised.value.details["attempts"] == 2


async def test_the_runner_reports_each_attempt_in_its_metrics(scripted_chain: Any) -> None:
    server, chain = await scripted_chain(Scripted({"per_second": [BROKEN]}))
    stubs = await chain.stubs()
    generate = StageRunner(chain.generate, chain.settings)
    validate = StageRunner(chain.validate, chain.settings)
    key = stubs.request_id.encode()

    out = await generate.handle(key, stubs.model_dump_json().encode(), "stubs[0]@0")
    assert [o.topic for o in out] == ["generated", "metrics"]
    assert _metric(out)["attempt"] == 1
    out = await validate.handle(key, out[0].value, "generated[0]@0")
    assert [o.topic for o in out] == ["repairs", "metrics"]
    assert (_metric(out)["outcome"], _metric(out)["attempt"]) == (Outcome.RETRY, 1)
    out = await generate.handle(key, out[0].value, "repairs[0]@0")
    assert [o.topic for o in out] == ["generated", "metrics"]
    assert _metric(out)["attempt"] == 2
    out = await validate.handle(key, out[0].value, "generated[0]@1")
    assert [o.topic for o in out] == ["validated", "metrics"]
    assert (_metric(out)["outcome"], _metric(out)["attempt"]) == (Outcome.OK, 2)
    assert len(server.completion_requests) == 5


async def test_a_finding_outside_every_body_regenerates_every_stub(
    scripted_chain: Any,
) -> None:
    server, chain = await scripted_chain(Scripted())
    first = await chain.generated(await chain.stubs())
    module_level = Finding(
        rule="imports",
        code="F401",
        severity=Severity.ERROR,
        line=1,
        message="an import nobody uses",
        qualified_name=None,
    )
    repair = StubsExtracted(
        request_id=first.request_id,
        submitted_at=first.submitted_at,
        request=first.request,
        extraction=first.extraction,
        attempt=2,
        findings=[module_level],
        previous_bodies=first.bodies,
    )
    server.reset()
    second = await chain.generated(repair)
    assert sorted(r.stub_name or "" for r in server.completion_requests) == sorted(STUBS)
    assert {b.attempt for b in second.bodies} == {2}
    assert all("an import nobody uses" in r.user_prompt for r in server.completion_requests)


def _attempt_of(record: CodeGenerated, name: str) -> int:
    return next(b.attempt for b in record.bodies if b.qualified_name == name)


def _metric(outgoing: list[Any]) -> dict[str, Any]:
    metric = outgoing[-1]
    assert metric.topic == "metrics"
    document: dict[str, Any] = json.loads(metric.value)
    return document


async def test_a_reply_that_does_not_parse_is_repaired_too(scripted_chain: Any) -> None:
    """Unparsable code is the validator's SYN001, not a terminal generation error."""
    unparsable = "return TokenBucket(capacity=float(limit), rate=float(limit)"
    server, chain = await scripted_chain(Scripted({"per_second": [unparsable]}))
    first = await chain.generated(await chain.stubs())
    routed = await chain.validate.process(first)
    assert isinstance(routed, Routed)
    repair = routed.record
    assert isinstance(repair, StubsExtracted)
    assert [(f.qualified_name, f.code) for f in repair.findings] == [("per_second", "SYN001")]
    server.reset()
    second = await chain.generated(repair)
    assert len(server.completion_requests) == 1
    assert isinstance(await chain.validate.process(second), CodeValidated)


# ---------------------------------------------------------------- unusable replies


class Styled(Scripted):
    """Like ``Scripted``, with whole replies (any style) queued for some stubs."""

    def __init__(self, replies: dict[str, list[Reply]]) -> None:
        super().__init__()
        self.replies = {name: list(queued) for name, queued in replies.items()}

    def __call__(self, request: Received) -> Reply:
        queued = self.replies.get(request.stub_name or "")
        return queued.pop(0) if queued else super().__call__(request)


async def test_a_refusal_is_asked_again_and_the_other_stubs_are_kept(
    scripted_chain: Any,
) -> None:
    server, chain = await scripted_chain(Styled({"per_second": [refusal("Not today.")]}))
    stubs = await chain.stubs()
    routed = await chain.generate.process(stubs)
    assert isinstance(routed, Routed)
    assert routed.topic == "repairs"
    repair = routed.record
    assert isinstance(repair, StubsExtracted)
    assert repair.attempt == 2
    assert [(f.qualified_name, f.rule, f.code) for f in repair.findings] == [
        ("per_second", "reply", "RPL003")
    ]
    assert [b.qualified_name for b in repair.previous_bodies] == STUBS[:3]

    server.reset()
    second = await chain.generated(repair)
    [prompt] = server.completion_requests
    assert prompt.stub_name == "per_second"
    assert "This is attempt 2" in prompt.user_prompt
    assert "Not today." in prompt.user_prompt  # the note says what was wrong
    assert [b.qualified_name for b in second.bodies] == STUBS
    validated = await chain.validate.process(second)
    assert isinstance(validated, CodeValidated)
    verified = await chain.verify.process(await chain.inject.process(validated))
    assert isinstance(verified, CodeVerified)
    stored = await chain.store.process(verified)
    assert isinstance(stored, FileStored)
    assert (
        Path(stored.artifact.path).read_text(encoding="utf-8") == inject_bodies(SOURCE, GOOD).source
    )


async def test_unusable_replies_fail_clearly_after_max_attempts(scripted_chain: Any) -> None:
    cut_reply = cut(GOOD["per_second"])
    server, chain = await scripted_chain(Styled({"per_second": [cut_reply] * 3}))
    generate = StageRunner(chain.generate, chain.settings)
    record = await chain.stubs()
    key = record.request_id.encode()
    value = record.model_dump_json().encode()
    topics = []
    for attempt in (1, 2, 3):
        out = await generate.handle(key, value, f"stubs[0]@{attempt}")
        topics.append(out[0].topic)
        value = out[0].value
    assert topics == ["repairs", "repairs", "failed"]
    failed = decode(RequestFailed, value)
    assert (failed.stage, failed.error_code, failed.attempts) == ("generate", "REPLY_UNUSABLE", 3)
    assert "per_second" in failed.message and "token limit" in failed.message
    assert [(f["qualified_name"], f["code"]) for f in failed.details["findings"]] == [
        ("per_second", "RPL002")
    ]
    # attempt 1 asks for every stub, the repairs for per_second only
    assert len(server.completion_requests) == 4 + 1 + 1
