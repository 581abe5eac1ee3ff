"""What the extract stage finds: stubs with their context."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SourceSpan(BaseModel):
    """1-based lines, 0-based columns, as libcst's PositionProvider reports them."""

    model_config = ConfigDict(frozen=True)

    start_line: int
    start_column: int
    end_line: int
    end_column: int


class ClassContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    qualified_name: str
    bases: list[str] = Field(default_factory=list)
    docstring: str | None = None
    sibling_signatures: list[str] = Field(
        default_factory=list, description="Signatures of the other methods of the class."
    )


class Stub(BaseModel):
    """A function or method whose body is to be generated."""

    model_config = ConfigDict(frozen=True)

    qualified_name: str = Field(
        description=(
            "Outer.Inner.method, func, or func.<locals>.inner; a property's setter or deleter "
            "is Class.prop.setter or Class.prop.deleter (its getter is Class.prop)"
        )
    )
    name: str
    signature: str = Field(description="The def line(s) exactly as written, up to the colon.")
    is_async: bool = False
    decorators: list[str] = Field(default_factory=list)
    docstring: str | None = None
    class_context: ClassContext | None = None
    span: SourceSpan
    marker: str = Field(description="Which stub marker matched.")


class ExtractionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    stubs: list[Stub] = Field(default_factory=list)
    imports: list[str] = Field(
        default_factory=list, description="The module's import statements, as written."
    )
