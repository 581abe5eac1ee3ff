"""Records of the stage chain: requests → stubs → generated → validated → injected → verified
→ stored."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from pipeline.models import (
    ExtractionResult,
    Finding,
    GeneratedBody,
    StoredArtifact,
    ValidationReport,
    VerificationReport,
)
from pipeline.records.base import Record, new_request_id, utcnow


class GenerationRequest(Record):
    """A Python module whose stubs are to be filled in; the first record of a request."""

    request_id: str = Field(default_factory=new_request_id, min_length=1, max_length=200)
    submitted_at: datetime = Field(default_factory=utcnow)
    source: str = Field(description="The module's source text.")
    output_path: str = Field(
        min_length=1, description="Where to store the result, relative to the store root."
    )
    generator: Literal["provided", "openai"] = "provided"
    bodies: dict[str, str] = Field(
        default_factory=dict, description="Qualified name → code, for the provided generator."
    )
    stub_markers: list[str] | None = Field(
        default=None, description="Overrides the configured stub markers for this request."
    )
    strict: bool = Field(default=False, description="Validation warnings count as errors.")
    metadata: dict[str, str] = Field(default_factory=dict)
    later_bodies: list[dict[str, str]] = Field(
        default_factory=list,
        description="The provided generator's bodies for repairs: the first map on attempt 2, "
        "the next on attempt 3 (the last one after that); names a map leaves out keep `bodies`.",
    )
    tests: dict[str, str] = Field(
        default_factory=dict,
        description="Relative path → text of test files run against the filled module "
        "(e.g. tests/test_inventory.py); without tests the module is only imported.",
    )
    support_files: dict[str, str] = Field(
        default_factory=dict,
        description="Relative path → text of other modules the code or the tests import.",
    )
    test_command: str | None = Field(
        default=None,
        description="Runs the tests in the sandbox; default CODEGEN_VERIFY_TEST_COMMAND "
        "(python -m pytest -x -q).",
    )

    def bodies_for(self, attempt: int) -> dict[str, str]:
        """The provided bodies of ``attempt`` (1 for the first generation)."""
        if attempt < 2 or not self.later_bodies:
            return self.bodies
        return {**self.bodies, **self.later_bodies[min(attempt - 2, len(self.later_bodies) - 1)]}

    def fingerprint(self) -> str:
        """sha256 of what is asked, not of the id nor the timestamps: a redelivered request
        has the same, a new request that reuses the id has another."""
        asked = self.model_dump(mode="json", exclude=set(Record.model_fields))
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


class StubsExtracted(Record):
    """Stubs to generate; on the ``repairs`` topic also the findings of the last attempt."""

    request: GenerationRequest
    extraction: ExtractionResult
    attempt: int = Field(default=1, ge=1, description="1 for the first generation.")
    findings: list[Finding] = Field(
        default_factory=list,
        description=(
            "What was wrong with the previous attempt: validation errors, or unusable replies "
            "(rule `reply`, RPL001-RPL005)."
        ),
    )
    previous_bodies: list[GeneratedBody] = Field(
        default_factory=list,
        description="The previous attempt's usable bodies; those without findings are kept.",
    )


class CodeGenerated(Record):
    request: GenerationRequest
    extraction: ExtractionResult
    bodies: list[GeneratedBody]
    attempt: int = 1


class CodeValidated(Record):
    request: GenerationRequest
    extraction: ExtractionResult
    bodies: list[GeneratedBody]
    report: ValidationReport
    attempt: int = 1


class CodeInjected(Record):
    request: GenerationRequest
    source: str = Field(description="The module with every stub filled in.")
    filled: list[str] = Field(description="Qualified names whose bodies were injected.")
    extraction: ExtractionResult = Field(description="The stubs, for a repair after verify.")
    bodies: list[GeneratedBody] = Field(description="The bodies injected.")
    attempt: int = 1
    body_lines: dict[str, tuple[int, int]] = Field(
        default_factory=dict,
        description="Qualified name → (first, last) line of its body in `source`, 1-based.",
    )


class CodeVerified(CodeInjected):
    """A filled module whose tests passed in the sandbox (or that imports, without tests)."""

    verification: VerificationReport


class FileStored(Record):
    """The result: the filled module itself (for a subscriber on any host) and where the
    store wrote it (a path on the store's host)."""

    output_path: str
    source: str = Field(description="The filled module, exactly the bytes stored (UTF-8).")
    sha256: str = Field(description="sha256 of `source` in UTF-8, as stored (`artifact.sha256`).")
    artifact: StoredArtifact
    filled: list[str]
    metadata: dict[str, str] = Field(default_factory=dict)
    verification: VerificationReport | None = Field(
        default=None, description="How the tests went in the verify stage."
    )

    def intact(self) -> bool:
        """Whether ``source`` is what the store wrote: its sha256 is ``sha256``."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest() == self.sha256


class RequestFailed(Record):
    """A terminal failure (also the dead-letter record): a person can act on the message."""

    stage: str
    error_code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 1
    payload: str | None = Field(default=None, description="The input record, when undecodable.")
    payload_encoding: Literal["utf-8", "base64"] | None = None
