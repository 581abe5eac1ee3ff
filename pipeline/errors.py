"""Errors a stage reports; each becomes a record on the ``failed`` topic."""

from __future__ import annotations

from typing import Any


class StageError(Exception):
    """A failure a person can act on: a stable code and a clear message."""

    code: str = "STAGE_ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidRequestError(StageError):
    code = "INVALID_REQUEST"
