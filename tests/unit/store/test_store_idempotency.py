"""The same request delivered twice produces one file and the same artifact."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pipeline.settings import OverwritePolicy
from pipeline.stages.store import ArtifactStore, StoreError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def listing(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".codegen" not in p.relative_to(root).parts
    )


def ledger_file(root: Path, request_id: str) -> Path:
    name = hashlib.sha256(request_id.encode()).hexdigest() + ".json"
    return root / ".codegen" / "requests" / name


@pytest.mark.parametrize("policy", list(OverwritePolicy))
def test_repeated_request_returns_the_same_artifact(root: Path, policy: OverwritePolicy) -> None:
    store = ArtifactStore(root, policy=policy)
    first = store.write("pkg/x.py", "x = 1\n", request_id="req-1")
    inode = os.stat(first.path).st_ino
    second = store.write("pkg/x.py", "x = 1\n", request_id="req-1")
    assert second == first
    assert listing(root) == ["pkg/x.py"]
    assert os.stat(first.path).st_ino == inode  # not rewritten


def test_repeated_request_under_keep_both_after_a_copy(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    store.write("x.py", "first\n", request_id="req-1")
    copy = store.write("x.py", "second\n", request_id="req-2")
    assert copy.relative_path == "x.1.py"
    assert store.write("x.py", "second\n", request_id="req-2") == copy
    assert listing(root) == ["x.1.py", "x.py"]


def test_ledger_records_the_request(root: Path) -> None:
    artifact = ArtifactStore(root).write("x.py", "x = 1\n", request_id="req-1")
    entry = json.loads(ledger_file(root, "req-1").read_text())
    assert entry["request_id"] == "req-1"
    assert entry["relative_path"] == artifact.relative_path
    assert entry["sha256"] == artifact.sha256
    assert entry["bytes"] == artifact.bytes


def test_same_request_with_new_content_follows_overwrite(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.OVERWRITE)
    store.write("x.py", "old\n", request_id="req-1")
    artifact = store.write("x.py", "new\n", request_id="req-1")
    assert (root / "x.py").read_text() == "new\n"
    assert artifact.relative_path == "x.py"


def test_same_request_with_new_content_follows_keep_both(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    store.write("x.py", "old\n", request_id="req-1")
    artifact = store.write("x.py", "new\n", request_id="req-1")
    assert artifact.relative_path == "x.1.py"
    # ...and the ledger now points at the new delivery.
    assert store.write("x.py", "new\n", request_id="req-1") == artifact
    assert listing(root) == ["x.1.py", "x.py"]


def test_same_request_with_new_content_follows_error(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.ERROR)
    store.write("x.py", "old\n", request_id="req-1")
    with pytest.raises(StoreError) as caught:
        store.write("x.py", "new\n", request_id="req-1")
    assert caught.value.code == "FILE_EXISTS"


def test_different_requests_for_the_same_path(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.OVERWRITE)
    a = store.write("x.py", "a\n", request_id="req-a")
    b = store.write("x.py", "b\n", request_id="req-b")
    assert a.relative_path == b.relative_path == "x.py"
    assert a.sha256 != b.sha256
    assert (root / "x.py").read_text() == "b\n"
    assert ledger_file(root, "req-a").exists()
    assert ledger_file(root, "req-b").exists()


def test_repeat_after_another_request_changed_the_file_rewrites(root: Path) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.OVERWRITE)
    first = store.write("x.py", "a\n", request_id="req-a")
    store.write("x.py", "b\n", request_id="req-b")
    again = store.write("x.py", "a\n", request_id="req-a")
    assert again == first
    assert (root / "x.py").read_text() == "a\n"


def test_repeat_after_the_file_was_deleted_writes_it_again(root: Path) -> None:
    store = ArtifactStore(root)
    first = store.write("x.py", "a\n", request_id="req-a")
    Path(first.path).unlink()
    assert store.write("x.py", "a\n", request_id="req-a") == first
    assert Path(first.path).read_text() == "a\n"


def test_same_request_for_another_path_is_a_new_write(root: Path) -> None:
    store = ArtifactStore(root)
    store.write("x.py", "a\n", request_id="req-a")
    other = store.write("y.py", "a\n", request_id="req-a")
    assert other.relative_path == "y.py"
    assert listing(root) == ["x.py", "y.py"]


@pytest.mark.parametrize("garbage", ["", "{", "[]", '{"request_id": 1}'])
def test_corrupt_ledger_entry_is_ignored(root: Path, garbage: str) -> None:
    store = ArtifactStore(root, policy=OverwritePolicy.KEEP_BOTH)
    first = store.write("x.py", "a\n", request_id="req-a")
    ledger_file(root, "req-a").write_text(garbage)
    assert store.write("x.py", "a\n", request_id="req-a") == first
    assert listing(root) == ["x.py"]


def test_tampered_ledger_pointing_outside_is_ignored(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("a\n")
    store = ArtifactStore(root)
    first = store.write("x.py", "a\n", request_id="req-a")
    entry = json.loads(ledger_file(root, "req-a").read_text())
    entry["relative_path"] = "../outside.py"
    ledger_file(root, "req-a").write_text(json.dumps(entry))
    assert store.write("x.py", "a\n", request_id="req-a") == first


def test_ledger_is_hidden_under_the_root(root: Path) -> None:
    ArtifactStore(root).write("x.py", "a\n", request_id="req-a")
    assert sorted(p.name for p in root.iterdir()) == [".codegen", "x.py"]


def test_a_delivered_result_is_remembered_per_request(root: Path) -> None:
    store = ArtifactStore(root)
    store.write("x.py", "x = 1\n", request_id="req-1")
    assert not store.delivered("req-1")
    store.mark_delivered("req-1")
    store.mark_delivered("req-1")  # idempotent
    assert store.delivered("req-1")
    assert not store.delivered("req-2")
    assert ArtifactStore(root).delivered("req-1")  # another worker on the same root sees it
    assert listing(root) == ["x.py"]  # the marks live in the reserved ledger folder


def test_nothing_is_delivered_in_a_store_never_written(root: Path) -> None:
    assert not ArtifactStore(root).delivered("req-1")
