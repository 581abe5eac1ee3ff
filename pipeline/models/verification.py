"""What the verify stage reports: the request's tests run against the filled module."""

from __future__ import annotations

from pydantic import Field

from pipeline.models.findings import ValidationReport


class VerificationReport(ValidationReport):
    """Findings (rule ``tests``) with what ran and how it went; passed without errors."""

    sandboxed: bool = Field(description="False only when running unsandboxed was allowed.")
    command: list[str] = Field(description="What ran inside the sandbox.")
    tests_collected: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    tests_skipped: int = 0
    seconds: float = Field(description="Wall time of the sandboxed run, start-up included.")
    output: str = Field(default="", description="The end of the run's output.")
