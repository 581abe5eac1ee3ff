"""Helpers shared by the validate stage's tests."""

from __future__ import annotations

from pathlib import Path

from pipeline.models.findings import Finding, ValidationReport
from pipeline.stages.validate import Rule, ValidateOptions, validate_source

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "validate"


def codes(report: ValidationReport) -> list[str]:
    return [finding.code for finding in report.findings]


def only(rule: Rule, **kwargs: object) -> ValidateOptions:
    return ValidateOptions(rules={rule}, **kwargs)  # type: ignore[arg-type]


def check(source: str, rule: Rule, **kwargs: object) -> list[Finding]:
    return validate_source(source, only(rule, **kwargs)).findings
