"""The errors the inject stage reports."""

from __future__ import annotations

from typing import ClassVar

from pipeline.errors import StageError


class InjectError(StageError):
    """Generated code could not be put into the module.

    ``code`` is one of the class constants below.
    """

    code = "INJECT_ERROR"

    NAME_NOT_FOUND: ClassVar[str] = "NAME_NOT_FOUND"
    """The qualified name is not defined in the module (the message lists close matches)."""

    AMBIGUOUS_NAME: ClassVar[str] = "AMBIGUOUS_NAME"
    """Two or more functions have the qualified name (redefinition, if/else branches, ...)."""

    OVERLAPPING_TARGETS: ClassVar[str] = "OVERLAPPING_TARGETS"
    """A function to fill is nested in another function to fill, whose body is replaced."""

    BODY_SYNTAX_ERROR: ClassVar[str] = "BODY_SYNTAX_ERROR"
    """The generated code does not parse, or holds nothing to put in the body."""

    SOURCE_SYNTAX_ERROR: ClassVar[str] = "SOURCE_SYNTAX_ERROR"
    """The original module does not parse."""
