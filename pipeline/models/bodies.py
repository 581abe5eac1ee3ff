"""What the generate stage produces."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GeneratedBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    qualified_name: str
    code: str = Field(description="A bare body or a whole def; the inject stage accepts both.")
    generator: str = "provided"
    model: str | None = None
    attempt: int = 1
    prompt_version: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
