"""Records built by hand for a stage's input."""

from __future__ import annotations

from pipeline.models import ExtractionResult, VerificationReport
from pipeline.records import CodeVerified, GenerationRequest, encode


def verified(request: GenerationRequest, source: str | None = None) -> bytes:
    """What the store consumes: ``request``'s module (or ``source``), its tests passed."""
    record = CodeVerified(
        request_id=request.request_id,
        submitted_at=request.submitted_at,
        request=request,
        source=source or request.source,
        filled=[],
        extraction=ExtractionResult(),
        bodies=[],
        verification=VerificationReport(passed=True, sandboxed=True, command=[], seconds=0.0),
    )
    return encode(record)
