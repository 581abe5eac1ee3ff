"""Failures of the verify stage itself (not findings about the code under test)."""

from __future__ import annotations

from pipeline.errors import StageError


class VerifyError(StageError):
    code = "VERIFY_ERROR"

    SANDBOX_UNAVAILABLE = "SANDBOX_UNAVAILABLE"
    BAD_TEST_PATH = "BAD_TEST_PATH"
    BAD_TEST_COMMAND = "BAD_TEST_COMMAND"
