"""Failures of the validate stage itself (not findings about the code)."""

from __future__ import annotations

from pipeline.errors import StageError


class ValidateError(StageError):
    """A checker could not run, e.g. the ruff binary failed or timed out."""

    code = "VALIDATE_ERROR"


class TypeCheckFailed(RuntimeError):
    """ty crashed, timed out or printed something else than its report.

    Not a ``StageError``: the workers retry it like any transient failure (and then put
    the request on ``failed`` with this message); it never counts as a finding, so an
    outage of the checker does not use up a request's generation attempts.
    """
