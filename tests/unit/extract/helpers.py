"""Shared helpers for the extract stage's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pipeline.models.stubs import ExtractionResult, Stub
from pipeline.stages.extract import ExtractOptions, extract_stubs

CORPUS = Path(__file__).parents[2] / "corpus" / "extract"

ALL_KINDS = [
    "comment:IMPLEMENTATION REQUIRED",
    "raise:NotImplementedError",
    "ellipsis",
    "pass-comment:Stub",
]


def extract(
    code: str,
    *,
    markers: list[str] | None = None,
    skip_bodiless: bool = True,
    path: str | None = None,
) -> ExtractionResult:
    """Extract from dedented ``code``."""
    options = ExtractOptions(markers=markers or ALL_KINDS, skip_bodiless=skip_bodiless)
    return extract_stubs(textwrap.dedent(code), options, path=path)


def names(code: str, **kwargs: object) -> list[str]:
    """The qualified names of the stubs found in dedented ``code``."""
    return [stub.qualified_name for stub in extract(code, **kwargs).stubs]  # type: ignore[arg-type]


def only_stub(code: str, **kwargs: object) -> Stub:
    stubs = extract(code, **kwargs).stubs  # type: ignore[arg-type]
    assert len(stubs) == 1, [stub.qualified_name for stub in stubs]
    return stubs[0]
