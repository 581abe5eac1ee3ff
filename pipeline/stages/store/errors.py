"""The error the store stage raises, and its stable codes."""

from __future__ import annotations

import os

from pipeline.errors import StageError

PATH_OUTSIDE_ROOT = "PATH_OUTSIDE_ROOT"
INVALID_PATH = "INVALID_PATH"
FILE_EXISTS = "FILE_EXISTS"
STORE_IO_ERROR = "STORE_IO_ERROR"
INVALID_CONTENT = "INVALID_CONTENT"
DUPLICATE_REQUEST_ID = "DUPLICATE_REQUEST_ID"


class StoreError(StageError):
    """Writing an artifact failed; ``code`` tells why.

    * ``PATH_OUTSIDE_ROOT`` - the path (absolute, ``..`` or a symlink) leads out of the root.
    * ``INVALID_PATH`` - not a usable file name (empty, NUL byte, a directory, reserved, ...).
    * ``FILE_EXISTS`` - policy ``error`` and a file with different content is already there.
    * ``STORE_IO_ERROR`` - the operating system refused (the errno text is in the message).
    * ``INVALID_CONTENT`` - text content that cannot be encoded as UTF-8.
    * ``DUPLICATE_REQUEST_ID`` - the id was stored before for a different request.
    """

    code = STORE_IO_ERROR


def io_error(action: str, where: object, exc: OSError) -> StoreError:
    """Wrap an ``OSError`` with the errno text and the file it concerned."""
    reason = (exc.strerror or os.strerror(exc.errno)) if exc.errno is not None else str(exc)
    return StoreError(
        code=STORE_IO_ERROR,
        message=f"cannot {action} {where}: {reason}",
        errno=exc.errno,
        path=str(where),
    )
