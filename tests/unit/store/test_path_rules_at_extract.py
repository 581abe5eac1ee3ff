"""The store's path rules, applied by the extract stage before any generation is paid for.

Both stages call the same function (``check_path``): a path extract accepts is one the store
can write and open again, and a path the store refuses for its text or its length is refused
at extract with the same code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.processors.extract import ExtractProcessor
from pipeline.records import GenerationRequest, RequestFailed, decode, encode
from pipeline.settings import Settings
from pipeline.stages.store import ArtifactStore, StoreError
from pipeline.stages.store.paths import NAME_MAX, real_root
from pipeline.workers.runner import StageRunner

SOURCE = "def f() -> int:\n    ...\n"


def too_long_below(root: Path) -> str:
    """A relative path of short enough names whose whole length passes PATH_MAX there."""
    limit = os.pathconf(root, "PC_PATH_MAX")
    room = limit - len(os.fsencode(str(real_root(root)))) - 1
    name = "d" * 200
    return "/".join([name] * (room // (len(name) + 1) + 1)) + "/x.py"


def refused_paths(root: Path) -> dict[str, str]:
    return {
        "backslash": "pkg\\module.py",
        "reserved": ".codegen/x.py",
        "reserved, other case": ".CODEGEN/requests/x.py",
        "a directory": "pkg/",
        "a NUL byte": "pkg/x\x00.py",
        "a long directory name": "p" * (NAME_MAX + 1) + "/x.py",
        "a long file name": "x" * (NAME_MAX - 2) + ".py",
        "too long in all": too_long_below(root),
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    "case",
    [
        "backslash",
        "reserved",
        "reserved, other case",
        "a directory",
        "a NUL byte",
        "a long directory name",
        "a long file name",
        "too long in all",
    ],
)
async def test_extract_refuses_what_the_store_refuses_with_the_same_code(
    root: Path, case: str
) -> None:
    path = refused_paths(root)[case]
    with pytest.raises(StoreError) as at_store:
        ArtifactStore(root).write(path, "x = 1\n", request_id="r")
    settings = Settings(_env_file=None, store_root=root)
    runner = StageRunner(ExtractProcessor(settings), settings)
    request = GenerationRequest(request_id="r", source=SOURCE, output_path=path)
    out = await runner.handle(b"r", encode(request), "requests[0]@0")
    assert [o.topic for o in out] == ["failed", "metrics"]
    failed = decode(RequestFailed, out[0].value)
    assert (failed.stage, failed.error_code) == ("extract", at_store.value.code)
    assert failed.error_code == "INVALID_PATH", failed.message
    assert not any(root.iterdir()), "nothing was written"


def test_a_path_too_long_in_all_is_named_with_the_limit(root: Path) -> None:
    with pytest.raises(StoreError) as raised:
        ArtifactStore(root).write(too_long_below(root), "x = 1\n", request_id="r")
    assert "PATH_MAX" in raised.value.message
    assert str(real_root(root)) in raised.value.message


def test_the_longest_accepted_path_is_written_and_opens_again(root: Path) -> None:
    limit = os.pathconf(root, "PC_PATH_MAX")
    base = len(os.fsencode(str(real_root(root))))
    name = "d" * 200
    parts: list[str] = []
    while base + 1 + len("/".join([*parts, name, "x.py"])) < limit:
        parts.append(name)
    tail = limit - 1 - base - 1 - len("/".join([*parts, ""]))
    path = "/".join([*parts, "f" * (tail - 3) + ".py"])
    assert len(os.fsencode(os.path.join(real_root(root), path))) == limit - 1
    artifact = ArtifactStore(root).write(path, "x = 1\n", request_id="r")
    assert Path(artifact.path).read_text() == "x = 1\n"
