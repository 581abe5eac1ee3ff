"""ArtifactStore: atomic, confined, idempotent writes of generated files."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pipeline.models.artifacts import StoredArtifact
from pipeline.settings import OverwritePolicy
from pipeline.stages.store import fsops, ledger
from pipeline.stages.store.errors import (
    DUPLICATE_REQUEST_ID,
    FILE_EXISTS,
    INVALID_CONTENT,
    StoreError,
    io_error,
)
from pipeline.stages.store.ledger import FileLedger, Ledger, LedgerEntry
from pipeline.stages.store.paths import Location, locate

#: ``keep-both`` gives up after this many numbered copies of one name.
MAX_COPIES = 10_000


class ArtifactStore:
    """Writes files below ``root`` and nowhere else.

    * Confinement: paths are resolved (symlinks included) and must stay inside
      ``root``; ``.codegen/`` below the root is reserved for the request ledger.
    * Atomicity: bytes go to a temp file in the target directory, are fsynced,
      get ``permissions`` and are renamed into place; the directory is fsynced.
    * Policy: ``overwrite`` replaces; ``error`` refuses a different existing
      file (``FILE_EXISTS``); ``keep-both`` writes ``name.1.py``, ``name.2.py``, ...
      A file that already holds exactly the same bytes is reused, never duplicated.
    * Idempotency: a request id seen before, for the same path and content,
      whose recorded file is unchanged, gets the recorded artifact back without
      writing. The same id with different content is a new delivery (for
      example after a retry with a fixed generator) and follows the policy.
    * One id, one request: given the request's fingerprint, an id recorded for another
      request is refused (``DUPLICATE_REQUEST_ID``) and nothing is written.
    * The ledger that remembers requests is ``ledger`` (a ``Ledger``); by default files
      below the root (``FileLedger``).
    """

    def __init__(
        self,
        root: Path,
        *,
        permissions: int = 0o644,
        policy: OverwritePolicy = OverwritePolicy.OVERWRITE,
        ledger: Ledger | None = None,
    ) -> None:
        if isinstance(permissions, bool) or not isinstance(permissions, int):
            raise TypeError(f"permissions must be an int, got {type(permissions).__name__}")
        if not 0 <= permissions <= 0o777:
            raise ValueError(f"permissions must be within 0o000..0o777, got {permissions:#o}")
        self._root = Path(root)
        self._permissions = permissions
        # New directories: searchable wherever files are readable (0644 -> 0755, 0600 -> 0700).
        self._dir_mode = fsops.directory_mode(permissions) | 0o700
        self._policy = OverwritePolicy(policy)
        self._ledger = ledger or FileLedger(
            self._root, permissions=permissions, dir_mode=self._dir_mode
        )

    @property
    def root(self) -> Path:
        return self._root

    @property
    def permissions(self) -> int:
        return self._permissions

    @property
    def policy(self) -> OverwritePolicy:
        return self._policy

    def resolve(self, relative_path: str) -> Path:
        """The validated absolute path ``relative_path`` would be written to (symlinks resolved)."""
        return locate(self._root, relative_path).path

    def write(
        self,
        relative_path: str,
        content: str | bytes,
        *,
        request_id: str,
        request_sha256: str | None = None,
    ) -> StoredArtifact:
        """Store ``content`` at ``relative_path`` for request ``request_id``, whose
        fingerprint is ``request_sha256`` (``GenerationRequest.fingerprint``) when known."""
        data = _as_bytes(content)
        sha256 = hashlib.sha256(data).hexdigest()
        try:
            self._ensure_root()
            location = locate(self._root, relative_path)
            entry = self._ledger.lookup(request_id)
            if entry is not None and not _same_request(entry, request_sha256):
                raise StoreError(
                    code=DUPLICATE_REQUEST_ID,
                    message=f"the request id {request_id!r} was used before by another request "
                    f"(for {entry.requested_path!r}); a new request needs a new id",
                    stored_for=entry.requested_path,
                )
            recorded = self._recorded(location, entry, sha256)
            if recorded is not None:
                return self._artifact(recorded, len(data), sha256)
            stored = self._store(location, data)
            entry = LedgerEntry(
                request_id=request_id,
                requested_path=location.relative,
                relative_path=stored.relative,
                sha256=sha256,
                bytes=len(data),
                request_sha256=request_sha256,
            )
            self._ledger.record(entry)
        except OSError as exc:  # anything not already turned into a StoreError
            raise io_error("write", relative_path, exc) from exc
        return self._artifact(stored, len(data), sha256)

    def write_file(self, relative_path: str, content: str | bytes) -> StoredArtifact:
        """Store ``content`` at ``relative_path``, confined and atomically and as the policy
        says, without the request ledger: a copy of a result made outside the pipeline."""
        data = _as_bytes(content)
        try:
            self._ensure_root()
            stored = self._store(locate(self._root, relative_path), data)
        except OSError as exc:
            raise io_error("write", relative_path, exc) from exc
        return self._artifact(stored, len(data), hashlib.sha256(data).hexdigest())

    def delivered(self, request_id: str, request_sha256: str | None = None) -> bool:
        """Whether a result for this request was already delivered (see ``mark_delivered``);
        not for another request that reuses the id (``write`` refuses that one)."""
        if not self._ledger.is_delivered(request_id):
            return False
        entry = self._ledger.lookup(request_id)
        return entry is None or _same_request(entry, request_sha256)

    def mark_delivered(self, request_id: str) -> None:
        """Record that the result for ``request_id`` reached its consumers: a redelivered
        request is then recognised and its result not emitted again."""
        try:
            self._ensure_root()
            self._ledger.mark_delivered(request_id)
        except OSError as exc:
            raise io_error("mark as delivered in", self._root, exc) from exc

    def _ensure_root(self) -> None:
        try:
            os.makedirs(self._root, mode=self._dir_mode, exist_ok=True)
        except OSError as exc:
            raise io_error("create the store root", self._root, exc) from exc

    def _recorded(
        self, location: Location, entry: LedgerEntry | None, sha256: str
    ) -> Location | None:
        if entry is None or entry.requested_path != location.relative or entry.sha256 != sha256:
            return None
        recorded = ledger.recorded_location(location.root, entry)
        if recorded is None or ledger.current_sha256(recorded) != sha256:
            return None
        return recorded

    def _store(self, location: Location, data: bytes) -> Location:
        with fsops.open_directory(
            location.root, location.parent_parts, create=True, mode=self._dir_mode
        ) as dir_fd:
            temp = fsops.write_temp(dir_fd, location.name, data, self._permissions, location.path)
            try:
                stored = self._place(dir_fd, temp, location, data)
                os.fsync(dir_fd)
            except OSError as exc:
                raise io_error("store", location.path, exc) from exc
            finally:
                fsops.remove_quietly(dir_fd, temp)
        return stored

    def _place(self, dir_fd: int, temp: str, location: Location, data: bytes) -> Location:
        if self._policy is OverwritePolicy.OVERWRITE:
            fsops.place(dir_fd, temp, location.name, replace=True)
            return location
        for candidate in _candidates(location):
            if fsops.place(dir_fd, temp, candidate.name, replace=False):
                return candidate
            if _holds(dir_fd, candidate.name, data):
                return candidate
            if self._policy is OverwritePolicy.ERROR:
                raise StoreError(
                    code=FILE_EXISTS,
                    message=f"{candidate.path} already exists with different content "
                    f"(overwrite policy {self._policy.value!r})",
                    path=str(candidate.path),
                )
        raise StoreError(
            code=FILE_EXISTS,
            message=f"no free name for {location.path}: {MAX_COPIES} numbered copies exist",
            path=str(location.path),
        )

    @staticmethod
    def _artifact(location: Location, size: int, sha256: str) -> StoredArtifact:
        return StoredArtifact(
            path=str(location.path),
            relative_path=location.relative,
            bytes=size,
            sha256=sha256,
        )


def _as_bytes(content: str | bytes) -> bytes:
    if isinstance(content, str):
        try:
            return content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StoreError(
                code=INVALID_CONTENT, message=f"content is not valid text: {exc}"
            ) from None
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    raise TypeError(f"content must be str or bytes, got {type(content).__name__}")


def _candidates(location: Location) -> Iterator[Location]:
    """``name.py``, then ``name.1.py``, ``name.2.py``, ... (suffix before the extension)."""
    yield location
    name = PurePosixPath(location.name)
    for number in range(1, MAX_COPIES + 1):
        yield location.sibling(f"{name.stem}.{number}{name.suffix}")


def _holds(dir_fd: int, name: str, data: bytes) -> bool:
    """Whether ``name`` is a regular file with exactly ``data`` in it."""
    if fsops.file_size(dir_fd, name) != len(data):
        return False
    try:
        return fsops.read_file(dir_fd, name) == data
    except OSError:
        return False


def _same_request(entry: LedgerEntry, request_sha256: str | None) -> bool:
    """Unknown on either side (an older entry, a caller without requests) counts as the same."""
    return None in (entry.request_sha256, request_sha256) or entry.request_sha256 == request_sha256
