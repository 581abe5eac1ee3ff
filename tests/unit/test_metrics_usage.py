"""Metrics events report what the stage did: extract its stubs, generate its model calls.

Real HTTP to the scripted server, the stage runner turning each record into its output and
its metrics event, no Kafka.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Finding, Severity
from pipeline.processors.extract import ExtractProcessor
from pipeline.processors.stages import GenerateProcessor
from pipeline.records import (
    CodeGenerated,
    GenerationRequest,
    MetricsEvent,
    Record,
    StubsExtracted,
    decode,
    encode,
)
from pipeline.settings import Settings
from pipeline.workers.runner import StageRunner
from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import Received, Reply, completion, fenced
from tests.unit.test_processors_repair import GOOD, SOURCE, STUBS, make_settings

PRICES = {"test-model": (1.0, 2.0)}  # $ per 1k prompt, completion tokens


def tokens(name: str) -> tuple[int, int]:
    """Distinct counts per stub, so a body counted twice or not at all shows in the sums."""
    index = STUBS.index(name)
    return 100 + index, 1000 * (index + 1)


def cost(prompt: int, completed: int) -> float:
    return prompt / 1000 * PRICES["test-model"][0] + completed / 1000 * PRICES["test-model"][1]


class Usage:
    """Good bodies with per-stub usage; ``unusable`` stubs get an answer without choices."""

    def __init__(self, unusable: set[str] | None = None) -> None:
        self.unusable = unusable or set()

    def __call__(self, request: Received) -> Reply:
        name = request.stub_name or ""
        prompt, completed = tokens(name)
        if name in self.unusable:
            reply = completion(None, prompt_tokens=prompt, completion_tokens=completed)
            return Reply(body={**reply.body, "choices": []})
        return fenced(GOOD[name], prompt_tokens=prompt, completion_tokens=completed)


async def run(runner: StageRunner, record: Record) -> tuple[list[Any], MetricsEvent]:
    out = await runner.handle(record.request_id.encode(), encode(record), "test[0]@0")
    assert out[-1].topic == "metrics"
    return out, decode(MetricsEvent, out[-1].value)


@pytest.fixture
async def stages(llm_server: LLMServerFactory, tmp_path: Path) -> Any:
    made: list[GenerateProcessor] = []

    async def make(script: Usage) -> tuple[StageRunner, StageRunner]:
        server = await llm_server(default=script)
        settings = make_settings(server, tmp_path, openai_prices=PRICES)
        generate = GenerateProcessor(settings)
        made.append(generate)
        return StageRunner(ExtractProcessor(settings), settings), StageRunner(generate, settings)

    yield make
    for processor in made:
        await processor.aclose()


async def stubs_of(extract: StageRunner) -> tuple[StubsExtracted, MetricsEvent]:
    request = GenerationRequest(source=SOURCE, output_path="r.py", generator="openai")
    out, event = await run(extract, request)
    return decode(StubsExtracted, out[0].value), event


async def test_extract_reports_the_stubs_it_found(stages: Any) -> None:
    extract, _ = await stages(Usage())
    _, event = await stubs_of(extract)
    assert event.stubs == len(STUBS)
    assert (event.model, event.prompt_tokens, event.cost_usd) == (None, 0, 0.0)


async def test_generate_reports_every_call_once_and_kept_bodies_not_again(stages: Any) -> None:
    extract, generate = await stages(Usage())
    stubs, _ = await stubs_of(extract)
    out, first = await run(generate, stubs)
    generated = decode(CodeGenerated, out[0].value)
    every = [tokens(name) for name in STUBS]
    assert first.model == "test-model"
    assert first.prompt_tokens == sum(p for p, _ in every)
    assert first.completion_tokens == sum(c for _, c in every)
    assert first.cost_usd == pytest.approx(sum(cost(p, c) for p, c in every))

    # A repair redoes one stub; the three kept bodies ride along and are not counted again.
    finding = Finding(
        rule="syntax",
        code="SYN002",
        severity=Severity.ERROR,
        line=1,
        message="bad",
        qualified_name="per_second",
    )
    repair = stubs.model_copy(
        update={"attempt": 2, "previous_bodies": generated.bodies, "findings": [finding]}
    )
    out, second = await run(generate, repair)
    assert len(decode(CodeGenerated, out[0].value).bodies) == len(STUBS)
    prompt, completed = tokens("per_second")
    assert (second.model, second.prompt_tokens, second.completion_tokens) == (
        "test-model",
        prompt,
        completed,
    )
    assert second.cost_usd == pytest.approx(cost(prompt, completed))


async def test_a_failed_generation_reports_the_calls_paid_for_even_unusable_ones(
    stages: Any,
) -> None:
    extract, generate = await stages(Usage(unusable={"per_second"}))
    stubs, _ = await stubs_of(extract)
    out, event = await run(generate, stubs)
    assert out[0].topic == "failed"
    assert event.outcome == "failed"
    assert event.error_code == "BAD_LLM_RESPONSE"
    # Each HTTP attempt at the unusable stub was answered, so each one was paid for.
    attempts = Settings(_env_file=None).openai_retry_attempts
    every = [tokens(name) for name in STUBS] + [tokens("per_second")] * (attempts - 1)
    assert event.model == "test-model"
    assert event.prompt_tokens == sum(p for p, _ in every)
    assert event.completion_tokens == sum(c for _, c in every)
    assert event.cost_usd == pytest.approx(sum(cost(p, c) for p, c in every))
