"""The request ledger that makes writes idempotent per request id.

Per request id it records which requested path the request wrote, where the bytes ended up
(which differs under ``keep-both``), their sha256 and the request's fingerprint
(``GenerationRequest.fingerprint``); once the request's result record has reached Kafka, it
also says so: a redelivered request is then recognised and its result not emitted a second
time, while another request that reuses the id is told so (``DUPLICATE_REQUEST_ID``).

``Ledger`` is what the store needs of it. ``FileLedger`` keeps it below the store root, one
small JSON file per id, ``<root>/.codegen/requests/<sha256(id)>.json``, written atomically
like any artifact, and an empty ``<sha256(id)>.delivered`` beside it. ``MappingLedger``
keeps it in a mapping of request id to entry JSON: a dict in tests, and in the store worker a
table whose changelog is a compacted Kafka topic (``pipeline.workers.store_ledger``), so
that every host sees it.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import MutableMapping
from pathlib import Path

from pydantic import ValidationError

from pipeline.records import StoreLedgerEntry as LedgerEntry
from pipeline.stages.store import fsops
from pipeline.stages.store.errors import StoreError, io_error
from pipeline.stages.store.paths import RESERVED_DIR, Location, locate

LEDGER_PARTS: tuple[str, ...] = (RESERVED_DIR, "requests")

__all__ = ["FileLedger", "Ledger", "LedgerEntry", "MappingLedger"]


class Ledger(ABC):
    """What the store remembers per request id."""

    @abstractmethod
    def lookup(self, request_id: str) -> LedgerEntry | None:
        """The recorded entry for ``request_id``; ``None`` if absent or unreadable."""

    @abstractmethod
    def record(self, entry: LedgerEntry) -> None:
        """Record ``entry`` (its ``delivered`` is ignored: ``mark_delivered`` says that)."""

    @abstractmethod
    def is_delivered(self, request_id: str) -> bool:
        """Whether the result of ``request_id`` was marked as delivered."""

    @abstractmethod
    def mark_delivered(self, request_id: str) -> None:
        """Mark the result of ``request_id`` as delivered (idempotent)."""


def parse_entry(raw: bytes | str | None, request_id: str) -> LedgerEntry | None:
    """The entry ``raw`` holds for ``request_id``; ``None`` if it is not one."""
    if raw is None:
        return None
    try:
        entry = LedgerEntry.model_validate_json(raw)
    except ValidationError:
        return None
    return entry if entry.request_id == request_id else None


class MappingLedger(Ledger):
    """The ledger as a mapping of the UTF-8 request id to its entry's JSON (the key and value
    of a record of the ``store-ledger`` topic)."""

    def __init__(self, entries: MutableMapping[bytes, bytes] | None = None) -> None:
        self.entries: MutableMapping[bytes, bytes] = {} if entries is None else entries

    def lookup(self, request_id: str) -> LedgerEntry | None:
        return parse_entry(self.entries.get(request_id.encode()), request_id)

    def record(self, entry: LedgerEntry) -> None:
        delivered = self.is_delivered(entry.request_id)
        self._put(entry.model_copy(update={"delivered": delivered}))

    def is_delivered(self, request_id: str) -> bool:
        entry = self.lookup(request_id)
        return entry is not None and entry.delivered

    def mark_delivered(self, request_id: str) -> None:
        entry = self.lookup(request_id)
        # The store records every request before its result goes out; nothing to mark else.
        if entry is not None and not entry.delivered:
            self._put(entry.model_copy(update={"delivered": True}))

    def _put(self, entry: LedgerEntry) -> None:
        self.entries[entry.request_id.encode()] = entry.model_dump_json().encode()


class FileLedger(Ledger):
    """The ledger as files below the store root (see the module docstring)."""

    def __init__(self, root: Path, *, permissions: int = 0o644, dir_mode: int = 0o755) -> None:
        self.root = Path(root)
        self.permissions = permissions
        self.dir_mode = dir_mode

    def lookup(self, request_id: str) -> LedgerEntry | None:
        try:
            with fsops.open_directory(self.root, LEDGER_PARTS, create=False) as dir_fd:
                raw = fsops.read_file(dir_fd, entry_name(request_id))
        except (OSError, StoreError):
            return None
        return parse_entry(raw, request_id)

    def record(self, entry: LedgerEntry) -> None:
        """Write ``entry`` atomically (temp file, fsync, rename, directory fsync)."""
        name = entry_name(entry.request_id)
        where = self.root.joinpath(*LEDGER_PARTS, name)
        data = entry.model_dump_json(indent=2, exclude={"delivered"}).encode()
        with fsops.open_directory(
            self.root, LEDGER_PARTS, create=True, mode=self.dir_mode
        ) as dir_fd:
            temp = fsops.write_temp(dir_fd, name, data, self.permissions, where)
            try:
                fsops.place(dir_fd, temp, name, replace=True)
                os.fsync(dir_fd)
            except OSError as exc:
                raise io_error("record request in", where, exc) from exc
            finally:
                fsops.remove_quietly(dir_fd, temp)

    def is_delivered(self, request_id: str) -> bool:
        try:
            with fsops.open_directory(self.root, LEDGER_PARTS, create=False) as dir_fd:
                os.stat(delivered_name(request_id), dir_fd=dir_fd)
        except (OSError, StoreError):
            return False
        return True

    def mark_delivered(self, request_id: str) -> None:
        """An empty file beside the entry."""
        with fsops.open_directory(
            self.root, LEDGER_PARTS, create=True, mode=self.dir_mode
        ) as dir_fd:
            flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            os.close(os.open(delivered_name(request_id), flags, self.permissions, dir_fd=dir_fd))


def _file_stem(request_id: str) -> str:
    return hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


def entry_name(request_id: str) -> str:
    return _file_stem(request_id) + ".json"


def delivered_name(request_id: str) -> str:
    return _file_stem(request_id) + ".delivered"


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
