"""Store stage: write generated files atomically, confined to a root directory."""

from pipeline.stages.store.errors import (
    DUPLICATE_REQUEST_ID,
    FILE_EXISTS,
    INVALID_CONTENT,
    INVALID_PATH,
    PATH_OUTSIDE_ROOT,
    STORE_IO_ERROR,
    StoreError,
)
from pipeline.stages.store.paths import check_path
from pipeline.stages.store.store import ArtifactStore

__all__ = [
    "DUPLICATE_REQUEST_ID",
    "FILE_EXISTS",
    "INVALID_CONTENT",
    "INVALID_PATH",
    "PATH_OUTSIDE_ROOT",
    "STORE_IO_ERROR",
    "ArtifactStore",
    "StoreError",
    "check_path",
]
