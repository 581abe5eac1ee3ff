"""One id, one request: a redelivery stays silent, another request reusing the id is told.

Through the store stage's processor and the worker's runner, as the store worker runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.models import ExtractionResult, VerificationReport
from pipeline.processors.stages import StoreProcessor
from pipeline.records import (
    CodeVerified,
    FileStored,
    GenerationRequest,
    RequestFailed,
    decode,
    encode,
)
from pipeline.settings import Settings
from pipeline.workers.runner import Outgoing, StageRunner

FIRST = GenerationRequest(request_id="shared", source="x = 1\n", output_path="first.py")
OTHER = GenerationRequest(request_id="shared", source="y = 2\n", output_path="second.py")


def injected(request: GenerationRequest, source: str | None = None) -> bytes:
    record = CodeVerified(
        request_id=request.request_id,
        submitted_at=request.submitted_at,
        request=request,
        source=source or request.source,
        filled=[],
        extraction=ExtractionResult(),
        bodies=[],
        verification=VerificationReport(sandboxed=True, command=["python"], seconds=0.1),
    )
    return encode(record)


@pytest.fixture
def store(tmp_path: Path) -> StageRunner:
    settings = Settings(_env_file=None, store_root=tmp_path / "store")
    return StageRunner(StoreProcessor(settings), settings)


async def handle(runner: StageRunner, value: bytes) -> list[Outgoing]:
    return await runner.handle(b"shared", value, "injected[0]@0")


async def stored_and_delivered(runner: StageRunner, value: bytes) -> FileStored:
    result, _metrics = await handle(runner, value)
    assert result.topic == "stored"
    assert result.on_delivered is not None
    result.on_delivered()  # the broker acknowledged it
    return decode(FileStored, result.value)


async def test_a_redelivery_of_a_stored_request_emits_nothing(store: StageRunner) -> None:
    await stored_and_delivered(store, injected(FIRST))
    assert await handle(store, injected(FIRST)) == []
    # Redelivered through generate, the model may have written other code: same request.
    assert await handle(store, injected(FIRST, source="x = 10\n")) == []


@pytest.mark.parametrize("delivered", [True, False], ids=["after delivery", "before delivery"])
async def test_another_request_reusing_a_stored_id_fails_with_duplicate_request_id(
    store: StageRunner, tmp_path: Path, delivered: bool
) -> None:
    first, _ = await handle(store, injected(FIRST))
    if delivered:
        assert first.on_delivered is not None
        first.on_delivered()
    out = await handle(store, injected(OTHER))
    assert [o.topic for o in out] == ["failed", "metrics"]
    failed = decode(RequestFailed, out[0].value)
    assert (failed.request_id, failed.stage, failed.error_code) == (
        "shared",
        "store",
        "DUPLICATE_REQUEST_ID",
    )
    assert "'shared'" in failed.message and "first.py" in failed.message
    assert not (tmp_path / "store" / "second.py").exists()
    assert (tmp_path / "store" / "first.py").read_text() == "x = 1\n"


async def test_the_same_request_again_under_its_id_is_stored_again(store: StageRunner) -> None:
    """Not delivered yet (the acknowledgement was lost): the same request is written again."""
    first, _ = await handle(store, injected(FIRST))
    again, _ = await handle(store, injected(FIRST))
    assert again.topic == "stored"
    assert decode(FileStored, again.value).artifact == decode(FileStored, first.value).artifact
