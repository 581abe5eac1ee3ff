"""Records of the stage chain: requests → stubs → generated → validated → injected → stored."""

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


class FileStored(Record):
    output_path: str
    artifact: StoredArtifact
    filled: list[str]
    metadata: dict[str, str] = Field(default_factory=dict)


class RequestFailed(Record):
    """A terminal failure (also the dead-letter record): a person can act on the message."""

    stage: str
    error_code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    attempts: int = 1
    payload: str | None = Field(default=None, description="The input record, when undecodable.")
    payload_encoding: Literal["utf-8", "base64"] | None = None
