"""Turning a requested path into a validated location inside the store root.

Validation is done on the fully resolved path (``os.path.realpath``), so every
symlink - in a directory component or the file itself - is followed before the
containment check. Symlinks that stay inside the root are fine; the location
returned is the real one, without symlinks, which the writer then opens
component by component with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.stages.store.errors import INVALID_PATH, PATH_OUTSIDE_ROOT, StoreError

#: Top-level directory of the root that holds the store's own bookkeeping.
RESERVED_DIR = ".codegen"

NAME_MAX = 255
#: Used where the platform does not say (``os.pathconf``); Linux's value.
DEFAULT_PATH_MAX = 4096


@dataclass(frozen=True)
class Location:
    """A file location: the real root and the real path components below it."""

    root: Path
    parts: tuple[str, ...]

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    @property
    def relative(self) -> str:
        return PurePosixPath(*self.parts).as_posix()

    @property
    def name(self) -> str:
        return self.parts[-1]

    @property
    def parent_parts(self) -> tuple[str, ...]:
        return self.parts[:-1]

    def sibling(self, name: str) -> Location:
        return Location(self.root, (*self.parent_parts, name))


def real_root(root: Path) -> Path:
    return Path(os.path.realpath(root))


def locate(root: Path, requested: str, *, allow_reserved: bool = False) -> Location:
    """Validate ``requested`` (relative to ``root``, or absolute inside it).

    Raises :class:`StoreError` with ``PATH_OUTSIDE_ROOT`` or ``INVALID_PATH``.
    """
    candidate = check_path(root, requested, allow_reserved=allow_reserved)
    base = real_root(root)
    resolved = Path(os.path.realpath(candidate))

    if resolved == base:
        raise StoreError(
            code=INVALID_PATH,
            message=f"{requested!r} is the store root, not a file",
            path=requested,
        )
    if not resolved.is_relative_to(base):
        raise StoreError(
            code=PATH_OUTSIDE_ROOT,
            message=f"{requested!r} resolves to {resolved}, outside the store root {base}",
            path=requested,
            root=str(base),
        )
    parts = resolved.relative_to(base).parts
    if not allow_reserved:
        _check_reserved(parts, requested)
    location = Location(base, parts)
    _check_existing(location, requested)
    return location


def check_path(root: Path, requested: str, *, allow_reserved: bool = False) -> str:
    """Every rule on a requested path that needs no look at what is on disk: the text (no NUL
    byte, no backslash, encodable, names a file), no ``..`` climbing out of the root, not in
    the reserved directory, each component at most ``NAME_MAX`` bytes and the whole path
    below the root within the platform's ``PATH_MAX``. Returns the path joined to the root.

    The extract stage calls it before any work is spent, ``locate`` before every write:
    one set of rules. Raises :class:`StoreError` (``INVALID_PATH``, ``PATH_OUTSIDE_ROOT``).
    """
    _check_text(requested)
    base = real_root(root)
    if os.path.isabs(requested):
        candidate = requested
    else:
        _check_lexical_depth(requested, base)
        if not allow_reserved:
            _check_reserved(PurePosixPath(posixpath.normpath(requested)).parts, requested)
        candidate = os.path.join(base, requested)
    _check_lengths(requested, candidate, base)
    return candidate


def _check_reserved(parts: tuple[str, ...], requested: str) -> None:
    if parts and parts[0].casefold() == RESERVED_DIR:
        raise StoreError(
            code=INVALID_PATH,
            message=f"{requested!r} is inside {RESERVED_DIR}/, which the store reserves for itself",
            path=requested,
        )


def _check_lengths(requested: str, candidate: str, base: Path) -> None:
    """A longer file could be written (component by component) but not opened by its path."""
    for part in requested.split("/"):
        if len(os.fsencode(part)) > NAME_MAX:
            raise StoreError(
                code=INVALID_PATH,
                message=f"a name in {requested!r} is longer than {NAME_MAX} bytes: {part[:40]!r}…",
                path=requested,
            )
    length = len(os.fsencode(candidate))
    limit = _path_max(base)
    if length >= limit:
        raise StoreError(
            code=INVALID_PATH,
            message=f"{requested!r} below the store root {base} is {length} bytes long; "
            f"the platform opens paths of at most {limit - 1} bytes (PATH_MAX)",
            path=requested,
        )


def _path_max(base: Path) -> int:
    """``PATH_MAX`` (which counts the final NUL) where the root is, or its nearest parent."""
    for directory in (base, *base.parents):
        try:
            return os.pathconf(directory, "PC_PATH_MAX")
        except (OSError, ValueError):
            continue
    return DEFAULT_PATH_MAX


def _check_text(requested: str) -> None:
    if not isinstance(requested, str):
        raise StoreError(
            code=INVALID_PATH, message=f"path must be a string, got {type(requested).__name__}"
        )
    if not requested.strip():
        raise StoreError(code=INVALID_PATH, message="path is empty", path=requested)
    if "\x00" in requested:
        raise StoreError(
            code=INVALID_PATH, message=f"{requested!r} contains a NUL byte", path=requested
        )
    if "\\" in requested:
        raise StoreError(
            code=INVALID_PATH,
            message=f"{requested!r} contains a backslash; use '/' separators",
            path=requested,
        )
    try:
        os.fsencode(requested)
    except UnicodeEncodeError:
        raise StoreError(
            code=INVALID_PATH,
            message=f"{requested!r} cannot be encoded as a file name",
            path=requested,
        ) from None
    last = requested.rsplit("/", 1)[-1]
    if last in ("", ".", ".."):
        raise StoreError(
            code=INVALID_PATH, message=f"{requested!r} does not name a file", path=requested
        )


def _check_lexical_depth(requested: str, base: Path) -> None:
    """Refuse a relative path whose ``..`` climb above the root, even if it comes back."""
    depth = 0
    for part in requested.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            raise StoreError(
                code=PATH_OUTSIDE_ROOT,
                message=f"{requested!r} climbs out of the store root {base} with '..'",
                path=requested,
                root=str(base),
            )


def _check_existing(location: Location, requested: str) -> None:
    """Reject existing components that cannot hold the file (files, loops, directories)."""
    current = location.root
    for index, part in enumerate(location.parts):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return
        except OSError:
            return  # the writer reports it with the errno text
        last = index == len(location.parts) - 1
        if stat.S_ISLNK(mode):
            raise StoreError(
                code=INVALID_PATH,
                message=f"{requested!r}: cannot resolve symlink {current}",
                path=requested,
            )
        if last and stat.S_ISDIR(mode):
            raise StoreError(
                code=INVALID_PATH,
                message=f"{requested!r}: a directory exists at {current}",
                path=requested,
            )
        if not last and not stat.S_ISDIR(mode):
            raise StoreError(
                code=INVALID_PATH,
                message=f"{requested!r}: {current} exists and is not a directory",
                path=requested,
            )
