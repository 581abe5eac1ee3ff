"""Failures of the validate stage itself (not findings about the code)."""

from __future__ import annotations

from pipeline.errors import StageError


class ValidateError(StageError):
    """A checker could not run, e.g. the ruff binary failed or timed out."""

    code = "VALIDATE_ERROR"
