"""The processors of the stages between extract and store: generate, validate, inject and
verify, the stages of the repair loop."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import replace
from functools import partial
from typing import ClassVar

from pipeline.catalogue import REPAIRS
from pipeline.errors import StageError
from pipeline.models import Finding, GeneratedBody, VerificationReport
from pipeline.records import (
    CodeGenerated,
    CodeInjected,
    CodeValidated,
    CodeVerified,
    Record,
    StubsExtracted,
    Usage,
)
from pipeline.settings import Settings
from pipeline.stages.generate import (
    GenerationTask,
    Generator,
    OpenAIGenerator,
    ProvidedGenerator,
)
from pipeline.stages.generate.problems import REPLY_UNUSABLE, ReplyProblems
from pipeline.stages.inject import InjectOptions, inject_bodies
from pipeline.stages.validate import ValidateOptions, validate_bodies
from pipeline.stages.verify import VerifyTask, task_key, verify_module

from .base import Measured, Processor, Routed, carried
from .offload import run_stage_work


class GenerateProcessor(Processor[StubsExtracted, CodeGenerated]):
    """First attempts from ``stubs``, repairs from ``repairs``: only failing stubs are redone.

    A stub whose reply could not be used (no code, refused, cut...) goes back through
    ``repairs`` with a finding that says why, the good bodies kept, until ``max_attempts``.
    """

    stage: ClassVar[str] = "generate"
    input_model: ClassVar[type[Record]] = StubsExtracted

    def __init__(self, settings: Settings, generators: dict[str, Generator] | None = None) -> None:
        self.settings = settings
        self.generators = generators or default_generators(settings)

    async def process(self, record: StubsExtracted) -> CodeGenerated | Routed:
        generator = self.generators.get(record.request.generator)
        if generator is None:
            raise StageError(
                f"the generator {record.request.generator!r} is not configured on this worker "
                f"(configured: {', '.join(sorted(self.generators))})",
                code="GENERATOR_UNAVAILABLE",
            )
        only, kept = _stubs_to_redo(record)
        task = GenerationTask(
            extraction=record.extraction,
            source=record.request.source,
            strict=record.request.strict,
            provided_bodies=record.request.bodies_for(record.attempt),
            attempt=record.attempt,
            findings=record.findings,
            previous_bodies={b.qualified_name: b.code for b in record.previous_bodies},
            only=only,
        )
        try:
            generated = await generator.generate(task)
        except ReplyProblems as problems:
            return self._ask_again(
                record, _in_module_order(record, problems.bodies, kept), problems
            )
        bodies = _in_module_order(record, generated, kept)
        return CodeGenerated(
            **carried(record),
            request=record.request,
            extraction=record.extraction,
            bodies=bodies,
            attempt=record.attempt,
        )

    def _ask_again(
        self, record: StubsExtracted, bodies: list[GeneratedBody], problems: ReplyProblems
    ) -> Routed:
        """The stubs with unusable replies to ``repairs``; ``REPLY_UNUSABLE`` when out of
        attempts."""
        if record.attempt < self.settings.max_attempts:
            routed = _repair(record, problems.findings, bodies)
            paid = Measured(self.stub_count(record), Usage.of_details(problems.details))
            return replace(routed, measured=paid)  # every call, the unusable replies' too
        shown = "; ".join(
            f"{f.qualified_name}: {f.code} {f.message}" for f in problems.findings[:3]
        )
        raise StageError(
            f"no usable reply for {len(problems.findings)} of {len(record.extraction.stubs)} "
            f"stub(s) after {record.attempt} attempt(s): {shown}",
            code=REPLY_UNUSABLE,
            findings=[f.model_dump(mode="json") for f in problems.findings],
            attempts=record.attempt,
            **{k: v for k, v in problems.details.items() if k != "attempts"},
        )

    def stub_count(self, record: StubsExtracted) -> int:
        return len(record.extraction.stubs)

    def measured(self, record: StubsExtracted, result: Record) -> Measured:
        """Only the bodies made in this attempt count: a body kept from an earlier one rides
        along unchanged and was counted when it was made."""
        assert isinstance(result, CodeGenerated)
        fresh = [body for body in result.bodies if body not in record.previous_bodies]
        return Measured(stubs=self.stub_count(record), usage=Usage.of_bodies(fresh))

    async def aclose(self) -> None:
        for generator in self.generators.values():
            await generator.aclose()


def default_generators(settings: Settings) -> dict[str, Generator]:
    generators: dict[str, Generator] = {"provided": ProvidedGenerator()}
    if settings.openai_base_url:
        generators["openai"] = OpenAIGenerator.from_settings(settings)
    return generators


def _repair(
    attempt: StubsExtracted | CodeGenerated | CodeInjected,
    findings: list[Finding],
    bodies: list[GeneratedBody],
) -> Routed:
    """The request back to generate, for another attempt at the stubs with findings."""
    return Routed(
        REPAIRS,
        StubsExtracted(
            **carried(attempt),
            request=attempt.request,
            extraction=attempt.extraction,
            attempt=attempt.attempt + 1,
            findings=findings,
            previous_bodies=bodies,
        ),
    )


def _in_module_order(
    record: StubsExtracted, fresh: list[GeneratedBody], kept: dict[str, GeneratedBody]
) -> list[GeneratedBody]:
    by_name = {**kept, **{b.qualified_name: b for b in fresh}}
    order = [stub.qualified_name for stub in record.extraction.stubs]
    return [by_name[name] for name in order if name in by_name]


def _stubs_to_redo(record: StubsExtracted) -> tuple[list[str] | None, dict[str, GeneratedBody]]:
    """On a repair, the stubs with findings are redone and the others kept."""
    if record.attempt == 1 or not record.previous_bodies:
        return None, {}
    failing = {finding.qualified_name for finding in record.findings}
    if None in failing:  # a finding outside every body: nothing can be trusted
        return None, {}
    kept = {b.qualified_name: b for b in record.previous_bodies if b.qualified_name not in failing}
    return sorted(name for name in failing if name is not None), kept


class ValidateProcessor(Processor[CodeGenerated, CodeValidated]):
    """Passing bodies go on; failing ones go back to generate until ``max_attempts``."""

    stage: ClassVar[str] = "validate"
    input_model: ClassVar[type[Record]] = CodeGenerated

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def process(self, record: CodeGenerated) -> CodeValidated | Routed:
        options = ValidateOptions.from_settings(self.settings, strict=record.request.strict)
        bodies = {body.qualified_name: body.code for body in record.bodies}
        source = record.request.source
        report = await run_stage_work(source, partial(validate_bodies, source, bodies, options))
        if report.passed:
            return CodeValidated(
                **carried(record),
                request=record.request,
                extraction=record.extraction,
                bodies=record.bodies,
                report=report,
                attempt=record.attempt,
            )
        return repair_or_fail(record, report.errors, self.settings, "validation")

    def stub_count(self, record: CodeGenerated) -> int:
        return len(record.bodies)


def repair_or_fail(
    record: CodeGenerated | CodeInjected,
    errors: list[Finding],
    settings: Settings,
    what: str,
) -> Routed:
    """Back to generate through ``repairs`` with the findings, or a terminal StageError
    (``VALIDATION_FAILED``, ``TESTS_FAILED``) after ``max_attempts``."""
    if record.attempt < settings.max_attempts:
        return _repair(record, errors, record.bodies)
    shown = "; ".join(
        f"{f.qualified_name or '<module>'} line {f.line}: {f.code} {f.message}" for f in errors[:5]
    )
    raise StageError(
        f"{len(errors)} {what} error(s) after {record.attempt} attempt(s): {shown}",
        code="VALIDATION_FAILED" if what == "validation" else "TESTS_FAILED",
        findings=[f.model_dump(mode="json") for f in errors],
        attempts=record.attempt,
    )


class InjectProcessor(Processor[CodeValidated, CodeInjected]):
    stage: ClassVar[str] = "inject"
    input_model: ClassVar[type[Record]] = CodeValidated

    def __init__(self, settings: Settings | None = None) -> None:
        self.options = InjectOptions.from_settings(settings or Settings())

    async def process(self, record: CodeValidated) -> CodeInjected:
        source = record.request.source
        bodies = {body.qualified_name: body.code for body in record.bodies}
        work = partial(inject_bodies, source, bodies, self.options)
        result = await run_stage_work(source, work)
        return CodeInjected(
            **carried(record),
            request=record.request,
            source=result.source,
            filled=result.filled,
            extraction=record.extraction,
            bodies=record.bodies,
            attempt=record.attempt,
            body_lines=result.body_lines,
        )

    def stub_count(self, record: CodeValidated) -> int:
        return len(record.bodies)


class VerifyProcessor(Processor[CodeInjected, CodeVerified]):
    """Runs the request's tests in the sandbox; failures go back to generate like
    validation errors, with the bodies their tracebacks went through to redo."""

    stage: ClassVar[str] = "verify"
    input_model: ClassVar[type[Record]] = CodeInjected

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = settings.sandbox_options()
        # Verdicts by content: the same module and tests are not run again.
        self.verdicts: OrderedDict[str, VerificationReport] = OrderedDict()

    async def process(self, record: CodeInjected) -> CodeVerified | Routed:
        request = record.request
        task = VerifyTask(
            source=record.source,
            module_path=request.output_path,
            tests=request.tests,
            support_files=request.support_files,
            test_command=request.test_command or self.settings.verify_test_command,
            body_lines=record.body_lines,
        )
        report = await self._verify(task)
        if report.passed:
            return CodeVerified(**record.model_dump(exclude={"produced_at"}), verification=report)
        return repair_or_fail(record, report.errors, self.settings, "test")

    async def _verify(self, task: VerifyTask) -> VerificationReport:
        key = task_key(task, self.options)
        known = self.verdicts.get(key)
        if known is not None:
            self.verdicts.move_to_end(key)
            return known
        # The run is a child process; the thread only waits for it.
        report = await asyncio.to_thread(verify_module, task, self.options)
        if _reproducible(report) and self.settings.verify_cache_size:
            self.verdicts[key] = report
            while len(self.verdicts) > self.settings.verify_cache_size:
                self.verdicts.popitem(last=False)
        return report

    def stub_count(self, record: CodeInjected) -> int:
        return len(record.filled)


REPRODUCIBLE_FAILURES = frozenset(
    {"TEST_FAILED", "TEST_ERROR", "TEST_COLLECTION_ERROR", "NO_TESTS"}
)
"""What the same module and tests report again: a limit hit or a crash may not recur."""


def _reproducible(report: VerificationReport) -> bool:
    return report.passed or all(f.code in REPRODUCIBLE_FAILURES for f in report.errors)
