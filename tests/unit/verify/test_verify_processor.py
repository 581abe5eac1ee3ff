"""The verify processor: a test failure routes the request to repairs with the findings, the
fix passes, a passing verdict is remembered by content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.client import build_request
from pipeline.errors import StageError
from pipeline.processors import Routed, build_processor, stages
from pipeline.processors.stages import VerifyProcessor
from pipeline.records import CodeInjected, CodeVerified, Record, StubsExtracted
from pipeline.settings import Settings
from pipeline.stages import verify as verify_package
from tests.fixtures import EXAMPLES


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, store_root=tmp_path / "store", state_dir=tmp_path / "state")


@pytest.fixture
def sandbox_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The module path of every run the verify processor starts (the runs still happen)."""
    runs: list[str] = []
    real = verify_package.verify_module

    def counting(task: Any, options: Any) -> Any:
        runs.append(task.module_path)
        return real(task, options)

    monkeypatch.setattr(stages, "verify_module", counting)
    return runs


async def injected(
    settings: Settings,
    record: Record,
    stages: tuple[str, ...] = ("extract", "generate", "validate", "inject"),
) -> CodeInjected:
    for stage in stages:
        output = await build_processor(stage, settings).process(record)
        assert not isinstance(output, Routed), output
        record = output
    assert isinstance(record, CodeInjected)
    return record


async def test_a_failing_test_goes_to_repairs_and_the_fix_passes(settings: Settings) -> None:
    processor = VerifyProcessor(settings)
    request = build_request(EXAMPLES / "pricing.py")
    first = await processor.process(await injected(settings, request))
    assert isinstance(first, Routed) and first.topic == "repairs"
    repair = first.record
    assert isinstance(repair, StubsExtracted) and repair.attempt == 2
    assert [(f.rule, f.code, f.qualified_name) for f in repair.findings] == [
        ("tests", "TEST_FAILED", "apply_discount")
    ]
    assert [b.qualified_name for b in repair.previous_bodies] == ["apply_discount", "with_tax"]
    generate = build_processor("generate", settings)
    second = await generate.process(repair)
    assert {b.qualified_name: b.attempt for b in second.bodies} == {  # type: ignore[union-attr]
        "apply_discount": 2,
        "with_tax": 1,
    }, "only the body the traceback went through is redone"
    verified = await processor.process(await injected(settings, second, ("validate", "inject")))
    assert isinstance(verified, CodeVerified)
    assert verified.attempt == 2 and verified.verification.tests_passed == 4


async def test_tests_that_keep_failing_end_as_tests_failed(settings: Settings) -> None:
    processor = VerifyProcessor(settings.model_copy(update={"max_attempts": 1}))
    request = build_request(EXAMPLES / "pricing.py")
    with pytest.raises(StageError) as caught:
        await processor.process(await injected(settings, request))
    assert caught.value.code == "TESTS_FAILED"
    assert caught.value.details["findings"][0]["code"] == "TEST_FAILED"
    assert "apply_discount line" in caught.value.message


async def test_a_passing_verdict_is_remembered_by_content(
    settings: Settings, sandbox_runs: list[str]
) -> None:
    processor = VerifyProcessor(settings)
    record = await injected(settings, build_request(EXAMPLES / "inventory.py"))
    for path in ("a/inventory.py", "b/inventory.py"):
        moved = record.model_copy(
            update={"request": record.request.model_copy(update={"output_path": path})}
        )
        assert isinstance(await processor.process(moved), CodeVerified)
    assert sandbox_runs == ["a/inventory.py"]
    changed = record.model_copy(update={"source": record.source + "\nX = 1\n"})
    assert isinstance(await processor.process(changed), CodeVerified)
    assert len(sandbox_runs) == 2


async def test_a_test_failure_is_remembered_and_a_limit_hit_is_not(
    settings: Settings, sandbox_runs: list[str]
) -> None:
    from pipeline.models import Finding, VerificationReport

    processor = VerifyProcessor(settings)
    record = await injected(settings, build_request(EXAMPLES / "pricing.py"))
    for _ in range(2):
        assert isinstance(await processor.process(record), Routed)
    assert len(sandbox_runs) == 1, "the same failing module and tests are not run again"

    limit = Finding(rule="tests", code="TIMEOUT", severity="error", line=1, message="60 s")
    timed_out = VerificationReport(findings=[limit], sandboxed=True, command=[], seconds=60.0)
    assert not stages._reproducible(timed_out)
