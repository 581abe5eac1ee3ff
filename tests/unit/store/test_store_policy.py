"""Overwrite policies: overwrite, error, keep-both."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import OverwritePolicy
from pipeline.stages.store import ArtifactStore, StoreError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


def listing(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".codegen" not in p.relative_to(root).parts
    )


def test_overwrite_replaces_the_file(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.OVERWRITE)
    store.write("x.py", "one\n", request_id="r1")
    artifact = store.write("x.py", "two\n", request_id="r2")
    assert artifact.relative_path == "x.py"
    assert (root / "x.py").read_text() == "two\n"
    assert listing(root) == ["x.py"]


def test_overwrite_is_the_default(root: Path) -> None:
    assert ArtifactStore(root).policy is OverwritePolicy.OVERWRITE


def test_error_refuses_a_different_existing_file(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.ERROR)
    store.write("pkg/x.py", "one\n", request_id="r1")
    with pytest.raises(StoreError) as caught:
        store.write("pkg/x.py", "two\n", request_id="r2")
    assert caught.value.code == "FILE_EXISTS"
    assert str(root / "pkg" / "x.py") in caught.value.message
    assert (root / "pkg" / "x.py").read_text() == "one\n"
    assert listing(root) == ["pkg/x.py"]
    assert list(root.rglob("*.tmp")) == []


def test_error_refuses_a_file_it_did_not_write(root: Path) -> None:
    (root / "x.py").write_text("hand written\n")
    store = ArtifactStore(root, policy=OverwritePolicy.ERROR)
    with pytest.raises(StoreError) as caught:
        store.write("x.py", "generated\n", request_id="r1")
    assert caught.value.code == "FILE_EXISTS"
    assert (root / "x.py").read_text() == "hand written\n"


def test_error_accepts_an_identical_existing_file(root: Path) -> None:
    (root / "x.py").write_text("same\n")
    store = ArtifactStore(root, policy=OverwritePolicy.ERROR)
    artifact = store.write("x.py", "same\n", request_id="r1")
    assert artifact.relative_path == "x.py"
    assert listing(root) == ["x.py"]


def test_error_writes_a_new_file(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.ERROR)
    artifact = store.write("new.py", "x = 1\n", request_id="r1")
    assert Path(artifact.path).read_text() == "x = 1\n"


def test_keep_both_numbers_copies_before_the_extension(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    paths = [
        store.write("pkg/name.py", f"v = {i}\n", request_id=f"r{i}").relative_path for i in range(4)
    ]
    assert paths == ["pkg/name.py", "pkg/name.1.py", "pkg/name.2.py", "pkg/name.3.py"]
    for i, path in enumerate(paths):
        assert (root / path).read_text() == f"v = {i}\n"


@pytest.mark.parametrize(
    ("name", "copy"),
    [("Makefile", "Makefile.1"), ("a.tar.gz", "a.tar.1.gz"), (".env", ".env.1")],
)
def test_keep_both_names_without_a_plain_extension(root: Path, name: str, copy: str) -> None:
    store = ArtifactStore(root, policy="keep-both")  # type: ignore[arg-type]
    store.write(name, "one\n", request_id="r1")
    assert store.write(name, "two\n", request_id="r2").relative_path == copy


def test_keep_both_takes_the_next_free_number(root: Path) -> None:
    (root / "x.py").write_text("a\n")
    (root / "x.2.py").write_text("c\n")
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    assert store.write("x.py", "new\n", request_id="r1").relative_path == "x.1.py"
    assert store.write("x.py", "newer\n", request_id="r2").relative_path == "x.3.py"


def test_keep_both_skips_a_directory_with_the_copy_name(root: Path) -> None:
    (root / "x.py").write_text("a\n")
    (root / "x.1.py").mkdir()
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    assert store.write("x.py", "b\n", request_id="r1").relative_path == "x.2.py"


def test_keep_both_does_not_follow_a_symlink_with_the_copy_name(root: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.py"
    victim.write_text("b\n")
    (root / "x.py").write_text("a\n")
    (root / "x.1.py").symlink_to(victim)
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    assert store.write("x.py", "b\n", request_id="r1").relative_path == "x.2.py"
    assert victim.read_text() == "b\n"


def test_keep_both_does_not_duplicate_identical_content(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    store.write("x.py", "a\n", request_id="r1")
    store.write("x.py", "b\n", request_id="r2")
    assert store.write("x.py", "b\n", request_id="r3").relative_path == "x.1.py"
    assert listing(root) == ["x.1.py", "x.py"]


def test_keep_both_gives_up_after_the_copy_limit(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages.store import store as store_module

    monkeypatch.setattr(store_module, "MAX_COPIES", 2)
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    for i in range(3):
        store.write("x.py", f"{i}\n", request_id=f"r{i}")
    with pytest.raises(StoreError) as caught:
        store.write("x.py", "3\n", request_id="r3")
    assert caught.value.code == "FILE_EXISTS"
    assert list(root.rglob("*.tmp")) == []


def test_no_link_file_system_falls_back_to_rename(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    def no_link(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    store.write("x.py", "a\n", request_id="r1")
    assert store.write("x.py", "b\n", request_id="r2").relative_path == "x.1.py"
    assert (root / "x.py").read_text() == "a\n"
    assert (root / "x.1.py").read_text() == "b\n"
    assert list(root.rglob("*.tmp")) == []
