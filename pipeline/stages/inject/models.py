"""What the inject stage returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InjectionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str = Field(description="The new module text.")
    filled: list[str] = Field(
        default_factory=list, description="The qualified names filled, in input order."
    )
    body_lines: dict[str, tuple[int, int]] = Field(
        default_factory=dict,
        description=(
            "Qualified name -> (first_line, last_line), 1-based and inclusive: where the new "
            "body statements (with the comments that came with them) are in `source`."
        ),
    )
    added_imports: list[str] = Field(
        default_factory=list, description="The import statements added to the module."
    )
