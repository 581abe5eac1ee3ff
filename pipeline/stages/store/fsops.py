"""Low-level file operations relative to directory descriptors.

Race guard: after :func:`~pipeline.stages.store.paths.locate` has resolved and
checked the path, the writer never uses that path string again. It opens the
root once and then every directory below it with ``O_DIRECTORY | O_NOFOLLOW``
relative to its parent's descriptor, and creates, renames and links names with
``dir_fd``. A component swapped for a symlink after the check therefore makes
the open fail instead of redirecting the write out of the root, and nothing
outside the descriptors we hold can be touched. (Re-checking ``realpath`` just
before the rename would still leave a window between check and use.)
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.stages.store.errors import (
    INVALID_PATH,
    PATH_OUTSIDE_ROOT,
    StoreError,
    io_error,
)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Hard links are not supported everywhere; then placement falls back to check + rename.
_NO_LINK_ERRNOS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK})


def directory_mode(file_mode: int) -> int:
    """Directory mode matching a file mode: search wherever read is allowed (0644 -> 0755)."""
    return file_mode | ((file_mode & 0o444) >> 2)


@contextlib.contextmanager
def open_directory(
    root: Path, parts: Sequence[str], *, create: bool, mode: int = 0o755
) -> Iterator[int]:
    """Yield a descriptor of ``root/parts``, opened without following any symlink below root.

    Missing directories are created with ``mode`` (set explicitly, so the umask
    does not narrow it) when ``create`` is true; otherwise ``FileNotFoundError``
    propagates.
    """
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise io_error("open the store root", root, exc) from exc
    try:
        current = root
        for part in parts:
            current = current / part
            child = _open_child(fd, part, current, create=create, mode=mode)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_child(parent: int, name: str, where: Path, *, create: bool, mode: int) -> int:
    """Open directory ``name`` under ``parent``, creating it if missing and asked to."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        raise _explain_open_failure(parent, name, where, exc) from exc
    created = False
    try:
        try:
            os.mkdir(name, mode, dir_fd=parent)
            created = True
        except FileExistsError:
            pass  # made concurrently; open it below
        child = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise _explain_open_failure(parent, name, where, exc) from exc
    if created:
        try:
            os.fchmod(child, mode)
            os.fsync(parent)  # make the new entry durable
        except OSError as exc:
            os.close(child)
            raise io_error("set up directory", where, exc) from exc
    return child


def _explain_open_failure(parent: int, name: str, where: Path, exc: OSError) -> StoreError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        try:
            mode = os.lstat(name, dir_fd=parent).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode):
            return StoreError(
                code=PATH_OUTSIDE_ROOT,
                message=f"{where} became a symlink while writing; refusing to follow it",
                path=str(where),
            )
        if mode and not stat.S_ISDIR(mode):
            return StoreError(
                code=INVALID_PATH, message=f"{where} is not a directory", path=str(where)
            )
    return io_error("open directory", where, exc)


def read_file(dir_fd: int, name: str) -> bytes:
    """Read a regular file ``name`` in ``dir_fd`` without following a symlink."""
    fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", name)
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_size(dir_fd: int, name: str) -> int | None:
    """Size of regular file ``name``, or ``None`` if missing or not a regular file."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def write_temp(dir_fd: int, name: str, data: bytes, permissions: int, where: Path) -> str:
    """Write ``data`` to a fresh hidden temp file next to ``name``; return the temp name.

    The file is written in full, given ``permissions`` with ``fchmod`` (so the
    umask has no say) and fsynced. It is removed again if anything fails.
    """
    for _ in range(8):
        temp = f".{name[:100]}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(temp, _TEMP_FLAGS, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
        except OSError as exc:
            raise io_error("create a temporary file in", where.parent, exc) from exc
        break
    else:  # pragma: no cover - 48 random bits colliding eight times
        raise StoreError(
            code=INVALID_PATH, message=f"cannot pick a temporary name in {where.parent}"
        )
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, permissions)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        remove_quietly(dir_fd, temp)
        if isinstance(exc, OSError):
            raise io_error("write", where, exc) from exc
        raise
    return temp


def place(dir_fd: int, temp: str, name: str, *, replace: bool) -> bool:
    """Move ``temp`` to ``name`` atomically.

    With ``replace`` an existing file is replaced (``os.replace``). Without it an
    existing ``name`` is left alone and ``False`` is returned; this uses a hard
    link, which fails atomically if the name is taken. The temp name is gone
    afterwards either way when ``True`` is returned.
    """
    if replace:
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return True
    try:
        os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK_ERRNOS:
            raise
        # No hard links on this file system: check, then rename (a small race window).
        try:
            os.lstat(name, dir_fd=dir_fd)
        except FileNotFoundError:
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            return True
        return False
    os.unlink(temp, dir_fd=dir_fd)
    return True


def remove_quietly(dir_fd: int, name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name, dir_fd=dir_fd)
