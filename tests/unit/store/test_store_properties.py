"""Property: any path either lands inside the root or is refused; nothing is written outside."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.settings import OverwritePolicy
from pipeline.stages.store import ArtifactStore, StoreError

COMPONENTS = st.one_of(
    st.sampled_from(
        ["..", ".", "", "pkg", "in", "out", "up", "loop", "file.py", ".codegen", "x.py", "/"]
    ),
    st.text(min_size=1, max_size=12),
)
PATHS = st.one_of(
    st.lists(COMPONENTS, min_size=1, max_size=6).map("/".join),
    st.text(max_size=40),
)


def snapshot(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*")}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Path, Path]]:
    """A root with symlinks that stay inside, lead out and loop, next to a watched directory."""
    with tempfile.TemporaryDirectory() as base:
        root, outside = Path(base) / "root", Path(base) / "outside"
        (root / "pkg").mkdir(parents=True)
        outside.mkdir()
        (outside / "secret.py").write_text("secret\n")
        (root / "file.py").write_text("existing\n")
        (root / "in").symlink_to("pkg", target_is_directory=True)
        (root / "out").symlink_to(outside, target_is_directory=True)
        (root / "up").symlink_to("..", target_is_directory=True)
        (root / "loop").symlink_to("loop")
        (root / "pkg" / "x.py").symlink_to(outside / "secret.py")
        yield root.resolve(), outside.resolve()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS)
def test_resolve_is_inside_the_root_or_refused(sandbox: tuple[Path, Path], path: str) -> None:
    root, _ = sandbox
    try:
        resolved = ArtifactStore(root).resolve(path)
    except StoreError as exc:
        assert exc.code in ("PATH_OUTSIDE_ROOT", "INVALID_PATH")
        return
    assert resolved.is_absolute()
    assert resolved.is_relative_to(root)
    assert resolved != root
    assert resolved.relative_to(root).parts[0] != ".codegen"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS, policy=st.sampled_from(list(OverwritePolicy)))
def test_write_never_touches_anything_outside(
    sandbox: tuple[Path, Path], path: str, policy: OverwritePolicy
) -> None:
    root, outside = sandbox
    before = snapshot(outside)
    try:
        artifact = ArtifactStore(root, policy=policy).write(path, "data\n", request_id=path)
    except StoreError as exc:
        assert exc.code in ("PATH_OUTSIDE_ROOT", "INVALID_PATH", "FILE_EXISTS")
    else:
        written = Path(artifact.path)
        assert written.is_relative_to(root)
        assert written == root / artifact.relative_path
        assert written.read_bytes() == b"data\n"
    assert snapshot(outside) == before
    assert (outside / "secret.py").read_text() == "secret\n"
    assert not list(root.parent.glob("*.tmp"))
