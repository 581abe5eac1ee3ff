"""Atomic writes, permissions, directories and the artifact returned."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.stages.store import ArtifactStore, StoreError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def umask_077() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def visible_files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".codegen" not in p.relative_to(root).parts
    )


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_artifact_describes_the_written_file(root: Path) -> None:
    content = "def f() -> str:\n    return 'héllo ✓'\n"
    artifact = ArtifactStore(root).write("pkg/mod.py", content, request_id="r1")
    data = content.encode("utf-8")
    assert artifact.path == str(root / "pkg" / "mod.py")
    assert artifact.relative_path == "pkg/mod.py"
    assert artifact.bytes == len(data) > len(content)
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert Path(artifact.path).read_bytes() == data


def test_bytes_content_is_written_verbatim(root: Path) -> None:
    data = bytes(range(256)) * 10
    artifact = ArtifactStore(root).write("blob.bin", data, request_id="r1")
    assert Path(artifact.path).read_bytes() == data
    assert artifact.bytes == len(data)
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()


def test_empty_content_is_a_valid_file(root: Path) -> None:
    artifact = ArtifactStore(root).write("empty.py", "", request_id="r1")
    assert artifact.bytes == 0
    assert Path(artifact.path).read_bytes() == b""


def test_unencodable_text_is_refused(root: Path) -> None:
    with pytest.raises(StoreError) as caught:
        ArtifactStore(root).write("x.py", "bad \ud800", request_id="r1")
    assert caught.value.code == "INVALID_CONTENT"


def test_nested_directories_are_created(root: Path, umask_077: None) -> None:
    artifact = ArtifactStore(root).write("a/b/c/d.py", "x = 1\n", request_id="r1")
    assert Path(artifact.path).is_file()
    for directory in (root / "a", root / "a" / "b", root / "a" / "b" / "c"):
        assert mode_of(directory) == 0o755


def test_default_permissions_ignore_the_umask(root: Path, umask_077: None) -> None:
    artifact = ArtifactStore(root).write("x.py", "x = 1\n", request_id="r1")
    assert mode_of(Path(artifact.path)) == 0o644


def test_configured_permissions(root: Path, umask_077: None) -> None:
    store = ArtifactStore(root, permissions=0o600)
    artifact = store.write("pkg/x.py", "x = 1\n", request_id="r1")
    assert mode_of(Path(artifact.path)) == 0o600
    assert mode_of(root / "pkg") == 0o700


def test_overwrite_applies_the_configured_permissions(root: Path) -> None:
    root.mkdir()
    (root / "x.py").write_text("old\n")
    (root / "x.py").chmod(0o600)
    ArtifactStore(root).write("x.py", "new\n", request_id="r1")
    assert mode_of(root / "x.py") == 0o644


@pytest.mark.parametrize("permissions", [-1, 0o1000, 0o4755])
def test_out_of_range_permissions_are_rejected(root: Path, permissions: int) -> None:
    with pytest.raises(ValueError):
        ArtifactStore(root, permissions=permissions)


def test_failed_rename_leaves_no_temp_file_and_the_old_content(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ArtifactStore(root)
    store.write("x.py", "old\n", request_id="r1")

    def failing_replace(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(StoreError) as caught:
        store.write("x.py", "new\n", request_id="r2")
    assert caught.value.code == "STORE_IO_ERROR"
    assert os.strerror(errno.EIO) in caught.value.message
    assert "x.py" in caught.value.message
    assert (root / "x.py").read_text() == "old\n"
    assert temp_files(root) == []


def test_failed_fsync_leaves_no_file_at_all(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    root.mkdir()
    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StoreError) as caught:
        ArtifactStore(root).write("x.py", "x = 1\n", request_id="r1")
    assert caught.value.code == "STORE_IO_ERROR"
    assert "No space left" in caught.value.message
    assert visible_files(root) == []
    assert temp_files(root) == []


def test_interrupted_write_removes_the_temp_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def interrupted_write(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data)[:10])
        raise KeyboardInterrupt

    root.mkdir()
    monkeypatch.setattr(os, "write", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        ArtifactStore(root).write("x.py", "x = 1\n" * 100, request_id="r1")
    assert visible_files(root) == []
    assert temp_files(root) == []


def test_short_writes_are_completed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:1000]))
    content = "y = 2\n" * 5000
    artifact = ArtifactStore(root).write("x.py", content, request_id="r1")
    assert Path(artifact.path).read_text() == content


def test_readers_only_ever_see_a_complete_file(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right before the rename the target still holds the old bytes and the temp the new."""
    store = ArtifactStore(root)
    old, new = "old\n" * 1000, "new\n" * 5000
    store.write("x.py", old, request_id="r1")
    seen: list[tuple[str, list[str]]] = []
    real_replace = os.replace

    def observing_replace(src: str, dst: str, **kwargs: int) -> None:
        temps = [p.read_text() for p in temp_files(root)]
        seen.append(((root / "x.py").read_text(), temps))
        real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", observing_replace)
    store.write("x.py", new, request_id="r2")
    target_before, temps = seen[0]
    assert target_before == old
    assert temps == [new]
    assert (root / "x.py").read_text() == new
    assert temp_files(root) == []


def test_temp_file_is_hidden_in_the_target_directory(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []
    real_replace = os.replace

    def recording_replace(src: str, dst: str, **kwargs: int) -> None:
        names.append(src)
        real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", recording_replace)
    ArtifactStore(root).write("pkg/x.py", "x = 1\n", request_id="r1")
    assert names[0].startswith(".x.py.")
    assert names[0].endswith(".tmp")


def test_root_that_is_a_file_is_an_io_error(tmp_path: Path) -> None:
    (tmp_path / "root").write_text("")
    with pytest.raises(StoreError) as caught:
        ArtifactStore(tmp_path / "root").write("x.py", "", request_id="r1")
    assert caught.value.code in ("STORE_IO_ERROR", "INVALID_PATH")


def test_error_is_a_stage_error_with_code_in_str(root: Path) -> None:
    from pipeline.errors import StageError

    with pytest.raises(StageError) as caught:
        ArtifactStore(root).write("../x.py", "", request_id="r1")
    assert str(caught.value).startswith("PATH_OUTSIDE_ROOT: ")


def test_store_error_keeps_the_stage_error_signature() -> None:
    assert StoreError("disk on fire").code == "STORE_IO_ERROR"
    error = StoreError("taken", code="FILE_EXISTS", path="x.py")
    assert (error.code, error.message, error.details) == ("FILE_EXISTS", "taken", {"path": "x.py"})
