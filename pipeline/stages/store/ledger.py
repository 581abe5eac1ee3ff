"""The request ledger that makes writes idempotent per request id.

One small JSON file per request id, ``<root>/.codegen/requests/<sha256(id)>.json``,
written atomically like any artifact. It records which requested path the
request wrote, where the bytes ended up (which differs under ``keep-both``),
their sha256 and the request's fingerprint (``GenerationRequest.fingerprint``). Once the
request's result record has reached Kafka, an empty ``<sha256(id)>.delivered`` beside it
says so: a redelivered request is then recognised and its result not emitted a second time,
while another request that reuses the id is told so (``DUPLICATE_REQUEST_ID``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.stages.store import fsops
from pipeline.stages.store.errors import StoreError, io_error
from pipeline.stages.store.paths import RESERVED_DIR, Location, locate

LEDGER_PARTS: tuple[str, ...] = (RESERVED_DIR, "requests")


@dataclass(frozen=True)
class LedgerEntry:
    request_id: str
    requested_path: str
    relative_path: str
    sha256: str
    size: int
    # None in entries written before requests were fingerprinted.
    request_sha256: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "request_id": self.request_id,
                "requested_path": self.requested_path,
                "relative_path": self.relative_path,
                "sha256": self.sha256,
                "bytes": self.size,
                "request_sha256": self.request_sha256,
            },
            indent=2,
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LedgerEntry | None:
        try:
            data = json.loads(raw)
            entry = cls(
                request_id=data["request_id"],
                requested_path=data["requested_path"],
                relative_path=data["relative_path"],
                sha256=data["sha256"],
                size=data["bytes"],
                request_sha256=data.get("request_sha256"),
            )
        except (ValueError, TypeError, KeyError):
            return None
        fields = (entry.request_id, entry.requested_path, entry.relative_path, entry.sha256)
        if not all(isinstance(value, str) for value in fields) or not isinstance(entry.size, int):
            return None
        if not isinstance(entry.request_sha256, str | None):
            return None
        return entry


def _file_stem(request_id: str) -> str:
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


def entry_name(request_id: str) -> str:
    return _file_stem(request_id) + ".json"


def lookup(root: Path, request_id: str) -> LedgerEntry | None:
    """The recorded entry for ``request_id``; ``None`` if absent or unreadable."""
    try:
        with fsops.open_directory(root, LEDGER_PARTS, create=False) as dir_fd:
            raw = fsops.read_file(dir_fd, entry_name(request_id))
    except (OSError, StoreError):
        return None
    entry = LedgerEntry.from_json(raw)
    if entry is None or entry.request_id != request_id:
        return None
    return entry


def recorded_location(root: Path, entry: LedgerEntry) -> Location | None:
    """Where the entry says the file is, validated again like any requested path."""
    try:
        location = locate(root, entry.relative_path)
    except StoreError:
        return None
    return location if location.relative == entry.relative_path else None


def current_sha256(location: Location) -> str | None:
    """sha256 of the file at ``location`` now, or ``None`` if it cannot be read."""
    try:
        with fsops.open_directory(location.root, location.parent_parts, create=False) as dir_fd:
            return hashlib.sha256(fsops.read_file(dir_fd, location.name)).hexdigest()
    except (OSError, StoreError):
        return None


def record(root: Path, entry: LedgerEntry, *, permissions: int, dir_mode: int) -> None:
    """Write ``entry`` atomically (temp file, fsync, rename, directory fsync)."""
    name = entry_name(entry.request_id)
    where = root.joinpath(*LEDGER_PARTS, name)
    with fsops.open_directory(root, LEDGER_PARTS, create=True, mode=dir_mode) as dir_fd:
        temp = fsops.write_temp(dir_fd, name, entry.to_json(), permissions, where)
        try:
            fsops.place(dir_fd, temp, name, replace=True)
            os.fsync(dir_fd)
        except OSError as exc:
            raise io_error("record request in", where, exc) from exc
        finally:
            fsops.remove_quietly(dir_fd, temp)


def delivered_name(request_id: str) -> str:
    return _file_stem(request_id) + ".delivered"


def is_delivered(root: Path, request_id: str) -> bool:
    """Whether the result of ``request_id`` was marked as delivered."""
    try:
        with fsops.open_directory(root, LEDGER_PARTS, create=False) as dir_fd:
            os.stat(delivered_name(request_id), dir_fd=dir_fd)
    except (OSError, StoreError):
        return False
    return True


def mark_delivered(root: Path, request_id: str, *, permissions: int, dir_mode: int) -> None:
    """Mark the result of ``request_id`` as delivered (an empty file; idempotent)."""
    with fsops.open_directory(root, LEDGER_PARTS, create=True, mode=dir_mode) as dir_fd:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        os.close(os.open(delivered_name(request_id), flags, permissions, dir_fd=dir_fd))
