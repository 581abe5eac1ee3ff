"""What every generator receives and returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import StageError
from pipeline.models import ExtractionResult, Finding, GeneratedBody, Stub


class GenerateError(StageError):
    code = "GENERATION_FAILED"


class GenerationTask(BaseModel):
    """Everything a generator may use: the stubs, their context, and earlier findings."""

    model_config = ConfigDict(frozen=True)

    extraction: ExtractionResult
    source: str | None = Field(
        default=None,
        description="The module's source: the prompts' context is built from it, and a reply's "
        "extra code is compared with it.",
    )
    strict: bool = Field(default=False, description="Validation warnings will count as errors.")
    provided_bodies: Mapping[str, str] = Field(default_factory=dict)
    attempt: int = 1
    findings: list[Finding] = Field(default_factory=list)
    previous_bodies: Mapping[str, str] = Field(
        default_factory=dict,
        description="Qualified name → the code of the previous attempt (for a repair).",
    )
    only: list[str] | None = Field(
        default=None,
        description="Qualified names to (re)generate; None means every stub.",
    )

    def selected_stubs(self) -> list[Stub]:
        """The stubs to generate, in module order; GenerateError for an unknown name."""
        stubs = list(self.extraction.stubs)
        if self.only is None:
            return stubs
        known = {stub.qualified_name for stub in stubs}
        unknown = [name for name in self.only if name not in known]
        if unknown:
            raise GenerateError(
                "asked to regenerate names that are not stubs of the module: "
                + ", ".join(unknown)
                + f" (stubs: {', '.join(sorted(known)) or 'none'})",
                code="UNKNOWN_STUB",
                unknown=unknown,
            )
        wanted = set(self.only)
        return [stub for stub in stubs if stub.qualified_name in wanted]


class Generator(ABC):
    """Produces one body per stub; raises GenerateError when it cannot."""

    name: str

    @abstractmethod
    async def generate(self, task: GenerationTask) -> list[GeneratedBody]: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""
