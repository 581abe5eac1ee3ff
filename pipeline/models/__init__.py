"""Domain models shared by the stages and the wire records."""

from pipeline.models.artifacts import StoredArtifact
from pipeline.models.bodies import GeneratedBody
from pipeline.models.findings import Finding, Severity, ValidationReport
from pipeline.models.stubs import ClassContext, ExtractionResult, SourceSpan, Stub
from pipeline.models.verification import VerificationReport

__all__ = [
    "ClassContext",
    "ExtractionResult",
    "Finding",
    "GeneratedBody",
    "Severity",
    "SourceSpan",
    "StoredArtifact",
    "Stub",
    "ValidationReport",
    "VerificationReport",
]
