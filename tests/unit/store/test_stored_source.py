"""The stored record carries the filled module, so a subscriber on any host has the result;
``save_result`` writes it on the client's machine under the store's path rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.catalogue import MAX_MESSAGE_BYTES
from pipeline.cli.main import app
from pipeline.cli.received import write_received
from pipeline.client import save_result
from pipeline.models import ExtractionResult, StoredArtifact, VerificationReport
from pipeline.processors.store import StoreProcessor
from pipeline.records import CodeVerified, FileStored, GenerationRequest, decode, encode, utcnow
from pipeline.settings import OverwritePolicy, Settings
from pipeline.stages.store import FILE_EXISTS, INVALID_CONTENT, INVALID_PATH, StoreError
from pipeline.workers.runner import StageRunner

FILLED = "def total(values: list[int]) -> int:\n    return sum(values)  # é\n"


async def stored(tmp_path: Path, source: str = FILLED, output_path: str = "pkg/m.py") -> FileStored:
    settings = Settings(_env_file=None, store_root=tmp_path / "store")
    runner = StageRunner(StoreProcessor(settings), settings)
    request = GenerationRequest(
        request_id="r1",
        source="def total(values: list[int]) -> int: ...\n",
        output_path=output_path,
    )
    record = CodeVerified(
        request_id="r1",
        submitted_at=request.submitted_at,
        request=request,
        source=source,
        filled=["total"],
        extraction=ExtractionResult(),
        bodies=[],
        verification=VerificationReport(sandboxed=True, command=["python"], seconds=0.1),
    )
    result, _metrics = await runner.handle(b"r1", encode(record), "verified[0]@0")
    assert result.topic == "stored"
    return decode(FileStored, result.value)


async def test_the_stored_record_carries_the_source_as_written_and_its_sha256(
    tmp_path: Path,
) -> None:
    result = await stored(tmp_path)
    written = Path(result.artifact.path).read_bytes()
    assert result.source.encode("utf-8") == written
    assert result.sha256 == result.artifact.sha256
    assert result.intact()


async def test_save_result_writes_the_source_below_the_directory(tmp_path: Path) -> None:
    result = await stored(tmp_path)
    path = save_result(result, tmp_path / "client", permissions=0o600)
    assert path == (tmp_path / "client" / "pkg" / "m.py").resolve()
    assert path.read_text(encoding="utf-8") == FILLED
    assert path.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "client" / ".codegen").exists(), "no ledger on the client's side"
    assert [p.name for p in path.parent.iterdir()] == ["m.py"], "no temp file left"


async def test_a_source_that_does_not_match_its_sha256_is_not_written(tmp_path: Path) -> None:
    result = await stored(tmp_path)
    forged = result.model_copy(update={"source": FILLED + "import os\n"})
    with pytest.raises(StoreError) as refused:
        save_result(forged, tmp_path / "client")
    assert refused.value.code == INVALID_CONTENT
    assert not (tmp_path / "client" / "pkg").exists()


@pytest.mark.parametrize(
    ("output_path", "code"),
    [
        ("../outside.py", "PATH_OUTSIDE_ROOT"),
        ("/etc/passwd", "PATH_OUTSIDE_ROOT"),
        (".codegen/requests/x", INVALID_PATH),
        ("a\\b.py", INVALID_PATH),
        ("x" * 300 + ".py", INVALID_PATH),
    ],
)
async def test_save_result_keeps_the_store_path_rules(
    tmp_path: Path, output_path: str, code: str
) -> None:
    result = (await stored(tmp_path)).model_copy(update={"output_path": output_path})
    with pytest.raises(StoreError) as refused:
        save_result(result, tmp_path / "client" / "inner")
    assert refused.value.code == code
    assert not (tmp_path / "outside.py").exists()


async def test_save_result_does_not_follow_a_symlink_out_of_the_directory(
    tmp_path: Path,
) -> None:
    result = await stored(tmp_path)
    (tmp_path / "client").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "client" / "pkg")
    with pytest.raises(StoreError) as refused:
        save_result(result, tmp_path / "client")
    assert refused.value.code == "PATH_OUTSIDE_ROOT"
    assert list((tmp_path / "elsewhere").iterdir()) == []


async def test_save_result_follows_the_overwrite_policy(tmp_path: Path) -> None:
    result = await stored(tmp_path)
    target = tmp_path / "client" / "pkg" / "m.py"
    target.parent.mkdir(parents=True)
    target.write_text("mine\n")
    with pytest.raises(StoreError) as refused:
        save_result(result, tmp_path / "client", policy=OverwritePolicy.ERROR)
    assert refused.value.code == FILE_EXISTS
    assert target.read_text() == "mine\n"
    kept = save_result(result, tmp_path / "client", policy=OverwritePolicy.KEEP_BOTH)
    assert kept.name == "m.1.py"
    assert save_result(result, tmp_path / "client") == target.resolve()
    assert target.read_text(encoding="utf-8") == FILLED


def test_a_stored_record_with_the_largest_source_fits_the_topics_message_limit() -> None:
    # 1 MiB of the characters JSON escapes the most (six bytes each: \u0001).
    source = "\x01" * Settings(_env_file=None).max_source_bytes
    record = FileStored(
        request_id="r" * 200,
        output_path="p" * 4000,
        source=source,
        sha256="0" * 64,
        submitted_at=utcnow(),
        artifact=StoredArtifact(
            path="/" + "p" * 4000, relative_path="p" * 4000, bytes=len(source), sha256="0" * 64
        ),
        filled=["f"] * 1000,
    )
    assert len(encode(record)) < MAX_MESSAGE_BYTES


def test_submit_o_without_wait_is_refused(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f() -> int: ...\n")
    result = CliRunner().invoke(app, ["submit", str(module), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "add --wait" in result.output
    assert not (tmp_path / "out").exists()


async def test_write_received_writes_what_it_may_and_exits_1_for_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = await stored(tmp_path)
    bad = good.model_copy(update={"request_id": "r2", "output_path": "../escape.py"})
    settings = Settings(_env_file=None)
    with pytest.raises(typer.Exit) as exited:
        write_received([bad, good], tmp_path / "out", settings)
    assert exited.value.exit_code == 1
    assert (tmp_path / "out" / "pkg" / "m.py").read_text(encoding="utf-8") == FILLED
    assert not (tmp_path / "escape.py").exists()
    output = capsys.readouterr()
    assert "PATH_OUTSIDE_ROOT" in output.err
    assert "wrote" in output.out
