"""What the validate stage reports."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str = Field(description="syntax, type_hints, security, imports, house_rules or types")
    code: str = Field(
        description="A stable code, e.g. SYN001, B602, F821, HR001, TY-missing-attribute"
    )
    severity: Severity
    line: int
    column: int = 0
    message: str
    snippet: str = ""
    suggestion: str | None = None
    qualified_name: str | None = Field(
        default=None, description="The generated body the finding is in, when known."
    )


class ValidationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: list[Finding] = Field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def passed(self) -> bool:
        return not self.errors
