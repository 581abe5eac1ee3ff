"""What a caller can tune about extraction."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pipeline.settings import DEFAULT_STUB_MARKERS


class ExtractOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    markers: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STUB_MARKERS),
        description="Stub markers, tried in order; the first that matches is recorded.",
    )
    skip_bodiless: bool = Field(
        default=True,
        description=(
            "Skip functions that have no body by design: abstract methods, overloads, "
            "Protocol members, and everything in a .pyi file."
        ),
    )
