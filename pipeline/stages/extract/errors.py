"""The extract stage's error."""

from __future__ import annotations

from pipeline.errors import StageError


class ExtractError(StageError):
    """Source that cannot be read for stubs (``SOURCE_SYNTAX_ERROR``) or a bad
    marker (``INVALID_MARKER``)."""

    code = "EXTRACT_ERROR"
