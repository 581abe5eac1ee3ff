"""The store writes inside its root and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.stages.store import ArtifactStore, StoreError
from pipeline.stages.store.paths import locate


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def store(root: Path) -> ArtifactStore:
    return ArtifactStore(root)


def write(store: ArtifactStore, path: str, content: str = "x = 1\n") -> None:
    store.write(path, content, request_id=f"req-{path}")


def test_absolute_path_outside_root_is_refused(
    store: ArtifactStore, root: Path, outside: Path
) -> None:
    target = outside / "evil.py"
    with pytest.raises(StoreError) as caught:
        write(store, str(target))
    assert caught.value.code == "PATH_OUTSIDE_ROOT"
    assert str(target) in caught.value.message
    assert str(root) in caught.value.message
    assert not target.exists()


def test_absolute_path_inside_root_is_accepted(store: ArtifactStore, root: Path) -> None:
    artifact = store.write(str(root / "pkg" / "a.py"), "a = 1\n", request_id="r")
    assert artifact.relative_path == "pkg/a.py"
    assert Path(artifact.path) == root / "pkg" / "a.py"


@pytest.mark.parametrize(
    "path", ["..", "../x.py", "a/../../x.py", "a/b/../../../x.py", "./../x.py", "../root/x.py"]
)
def test_dotdot_escaping_the_root_is_refused(
    store: ArtifactStore, root: Path, tmp_path: Path, path: str
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError) as caught:
        write(store, path)
    assert caught.value.code in ("PATH_OUTSIDE_ROOT", "INVALID_PATH")
    if path != "..":
        assert caught.value.code == "PATH_OUTSIDE_ROOT"
        assert str(root) in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "x.py").exists()


def test_dotdot_that_stays_inside_is_normalised(store: ArtifactStore, root: Path) -> None:
    artifact = store.write("a/../b/./x.py", "x = 1\n", request_id="r")
    assert artifact.relative_path == "b/x.py"
    assert (root / "b" / "x.py").read_text() == "x = 1\n"


def test_symlinked_directory_leading_out_is_refused(
    store: ArtifactStore, root: Path, outside: Path
) -> None:
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError) as caught:
        write(store, "link/evil.py")
    assert caught.value.code == "PATH_OUTSIDE_ROOT"
    assert "link/evil.py" in caught.value.message
    assert list(outside.iterdir()) == []


def test_nested_symlink_leading_out_is_refused(
    store: ArtifactStore, root: Path, outside: Path
) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "up").symlink_to("../../..", target_is_directory=True)
    with pytest.raises(StoreError) as caught:
        write(store, "a/b/up/outside/evil.py")
    assert caught.value.code == "PATH_OUTSIDE_ROOT"
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("existing", [True, False])
def test_symlinked_target_file_leading_out_is_refused(
    store: ArtifactStore, root: Path, outside: Path, existing: bool
) -> None:
    victim = outside / "victim.py"
    if existing:
        victim.write_text("original\n")
    (root / "x.py").symlink_to(victim)
    with pytest.raises(StoreError) as caught:
        write(store, "x.py", "overwritten\n")
    assert caught.value.code == "PATH_OUTSIDE_ROOT"
    if existing:
        assert victim.read_text() == "original\n"
    else:
        assert not victim.exists()
    assert (root / "x.py").is_symlink()


def test_symlinked_directory_inside_root_is_followed(store: ArtifactStore, root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to("real", target_is_directory=True)
    artifact = store.write("alias/x.py", "x = 1\n", request_id="r")
    assert artifact.relative_path == "real/x.py"
    assert artifact.path == str(root / "real" / "x.py")
    assert (root / "real" / "x.py").read_text() == "x = 1\n"
    assert (root / "alias").is_symlink()


def test_symlinked_file_inside_root_writes_its_target(store: ArtifactStore, root: Path) -> None:
    (root / "real.py").write_text("old\n")
    (root / "alias.py").symlink_to("real.py")
    artifact = store.write("alias.py", "new\n", request_id="r")
    assert artifact.relative_path == "real.py"
    assert (root / "real.py").read_text() == "new\n"
    assert (root / "alias.py").is_symlink()


def test_root_given_through_a_symlink_works(tmp_path: Path, root: Path) -> None:
    (tmp_path / "root-link").symlink_to(root, target_is_directory=True)
    store = ArtifactStore(tmp_path / "root-link")
    artifact = store.write("x.py", "x = 1\n", request_id="r")
    assert artifact.path == str(root / "x.py")
    assert store.write(str(tmp_path / "root-link" / "y.py"), "", request_id="s").relative_path == (
        "y.py"
    )


def test_relative_root_is_reported_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    artifact = ArtifactStore(Path("out")).write("x.py", "x = 1\n", request_id="r")
    assert Path(artifact.path).is_absolute()
    assert Path(artifact.path) == (tmp_path / "out" / "x.py").resolve()


@pytest.mark.parametrize(
    "path",
    ["", "   ", "a\x00b.py", "pkg/", ".", "pkg/.", "pkg/..", "a\\b.py", "\ud800.py", "n" * 256],
)
def test_invalid_paths_are_refused(store: ArtifactStore, root: Path, path: str) -> None:
    with pytest.raises(StoreError) as caught:
        write(store, path)
    assert caught.value.code == "INVALID_PATH"
    assert [p.name for p in root.iterdir()] in ([], [".codegen"])


def test_directory_at_target_is_refused(store: ArtifactStore, root: Path) -> None:
    (root / "pkg").mkdir()
    with pytest.raises(StoreError) as caught:
        write(store, "pkg")
    assert caught.value.code == "INVALID_PATH"
    assert "directory" in caught.value.message


def test_file_in_place_of_a_directory_is_refused(store: ArtifactStore, root: Path) -> None:
    (root / "pkg").write_text("")
    with pytest.raises(StoreError) as caught:
        write(store, "pkg/x.py")
    assert caught.value.code == "INVALID_PATH"
    assert "not a directory" in caught.value.message


def test_symlink_loop_is_refused(store: ArtifactStore, root: Path) -> None:
    (root / "loop").symlink_to("loop")
    with pytest.raises(StoreError) as caught:
        write(store, "loop/x.py")
    assert caught.value.code in ("INVALID_PATH", "PATH_OUTSIDE_ROOT")


@pytest.mark.parametrize(
    "path", [".codegen/requests/x.json", ".codegen/x.py", ".CODEGEN/x.py", "a/../.codegen/x"]
)
def test_ledger_directory_is_not_an_output_path(store: ArtifactStore, path: str) -> None:
    with pytest.raises(StoreError) as caught:
        write(store, path)
    assert caught.value.code == "INVALID_PATH"
    assert ".codegen" in caught.value.message


def test_symlink_into_the_ledger_directory_is_refused(store: ArtifactStore, root: Path) -> None:
    write(store, "x.py")
    (root / "sneaky").symlink_to(".codegen/requests", target_is_directory=True)
    with pytest.raises(StoreError) as caught:
        write(store, "sneaky/y.json")
    assert caught.value.code == "INVALID_PATH"


def test_resolve_returns_the_target_and_creates_nothing(store: ArtifactStore, root: Path) -> None:
    resolved = store.resolve("a/b/c.py")
    assert resolved == root / "a" / "b" / "c.py"
    assert resolved.is_absolute()
    assert list(root.iterdir()) == []


def test_resolve_validates_like_write(store: ArtifactStore) -> None:
    with pytest.raises(StoreError) as caught:
        store.resolve("../x.py")
    assert caught.value.code == "PATH_OUTSIDE_ROOT"


def test_directory_swapped_for_a_symlink_after_the_check_is_refused(
    store: ArtifactStore, root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer does not trust the checked path string: it opens with O_NOFOLLOW."""
    (root / "pkg").mkdir()

    def locate_then_swap(*args: object, **kwargs: object) -> object:
        location = locate(*args, **kwargs)  # type: ignore[arg-type]
        (root / "pkg").rmdir()
        (root / "pkg").symlink_to(outside, target_is_directory=True)
        return location

    monkeypatch.setattr("pipeline.stages.store.store.locate", locate_then_swap)
    with pytest.raises(StoreError) as caught:
        write(store, "pkg/evil.py")
    assert caught.value.code == "PATH_OUTSIDE_ROOT"
    assert list(outside.iterdir()) == []


def test_target_swapped_for_a_symlink_is_replaced_not_followed(
    root: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = outside / "victim.py"
    victim.write_text("original\n")
    store = ArtifactStore(root)

    def locate_then_swap(*args: object, **kwargs: object) -> object:
        location = locate(*args, **kwargs)  # type: ignore[arg-type]
        os.symlink(victim, root / "x.py")
        return location

    monkeypatch.setattr("pipeline.stages.store.store.locate", locate_then_swap)
    store.write("x.py", "new\n", request_id="r")
    assert victim.read_text() == "original\n"
    assert not (root / "x.py").is_symlink()
    assert (root / "x.py").read_text() == "new\n"
