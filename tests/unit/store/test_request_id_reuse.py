"""One id, one request: a redelivery stays silent, another request reusing the id is told.

Through the store stage's processor and the worker's runner, as the store worker runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.processors.store import StoreProcessor
from pipeline.records import FileStored, GenerationRequest, RequestFailed, decode
from pipeline.settings import Settings
from pipeline.stages.store.ledger import Ledger, MappingLedger
from pipeline.workers.runner import Outgoing, StageRunner
from tests.support.records import verified

FIRST = GenerationRequest(request_id="shared", source="x = 1\n", output_path="first.py")
OTHER = GenerationRequest(request_id="shared", source="y = 2\n", output_path="second.py")


def store_runner(root: Path, ledger: Ledger | None = None) -> StageRunner:
    settings = Settings(_env_file=None, store_root=root)
    return StageRunner(StoreProcessor(settings, ledger=ledger), settings)


@pytest.fixture(params=["files", "mapping"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> StageRunner:
    """The store with its ledger below the root (the default), or in a mapping (as the store
    worker keeps it in a Kafka-backed table)."""
    return store_runner(tmp_path / "store", MappingLedger() if request.param == "mapping" else None)


async def handle(runner: StageRunner, value: bytes) -> list[Outgoing]:
    return await runner.handle(b"shared", value, "injected[0]@0")


async def stored_and_delivered(runner: StageRunner, value: bytes) -> FileStored:
    result, _metrics = await handle(runner, value)
    assert result.topic == "stored"
    assert result.on_delivered is not None
    result.on_delivered()  # the broker acknowledged it
    return decode(FileStored, result.value)


async def test_a_redelivery_of_a_stored_request_emits_nothing(store: StageRunner) -> None:
    await stored_and_delivered(store, verified(FIRST))
    assert await handle(store, verified(FIRST)) == []
    # Redelivered through generate, the model may have written other code: same request.
    assert await handle(store, verified(FIRST, source="x = 10\n")) == []


@pytest.mark.parametrize("delivered", [True, False], ids=["after delivery", "before delivery"])
async def test_another_request_reusing_a_stored_id_fails_with_duplicate_request_id(
    store: StageRunner, tmp_path: Path, delivered: bool
) -> None:
    first, _ = await handle(store, verified(FIRST))
    if delivered:
        assert first.on_delivered is not None
        first.on_delivered()
    out = await handle(store, verified(OTHER))
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
    first, _ = await handle(store, verified(FIRST))
    again, _ = await handle(store, verified(FIRST))
    assert again.topic == "stored"
    assert decode(FileStored, again.value).artifact == decode(FileStored, first.value).artifact


async def test_a_shared_ledger_holds_across_store_roots(tmp_path: Path) -> None:
    """Two store workers on two hosts (separate roots), one ledger (the Kafka-backed one):
    the request stored by one is a redelivery to the other, and its id stays taken."""
    ledger = MappingLedger()
    first_host = store_runner(tmp_path / "host-a", ledger)
    second_host = store_runner(tmp_path / "host-b", ledger)
    await stored_and_delivered(first_host, verified(FIRST))
    assert await handle(second_host, verified(FIRST)) == []
    out = await handle(second_host, verified(OTHER))
    assert decode(RequestFailed, out[0].value).error_code == "DUPLICATE_REQUEST_ID"
    assert not list((tmp_path / "host-b").rglob("*.py"))


async def test_a_ledger_entry_not_yet_delivered_is_stored_again_on_another_host(
    tmp_path: Path,
) -> None:
    """The first host stored it but its result was not acknowledged: the second stores it
    too (the same result), and only then is it suppressed."""
    ledger = MappingLedger()
    await handle(store_runner(tmp_path / "host-a", ledger), verified(FIRST))
    second_host = store_runner(tmp_path / "host-b", ledger)
    again = await stored_and_delivered(second_host, verified(FIRST))
    assert (tmp_path / "host-b" / "first.py").read_text() == again.source == "x = 1\n"
    assert await handle(second_host, verified(FIRST)) == []


def test_a_mapping_ledger_ignores_what_is_not_an_entry_of_its_id() -> None:
    ledger = MappingLedger({b"a": b"{", b"b": b'{"request_id": "other"}'})
    assert ledger.lookup("a") is None and ledger.lookup("b") is None
    assert not ledger.is_delivered("a")
    ledger.mark_delivered("missing")  # nothing recorded: nothing to mark
    assert ledger.entries.keys() == {b"a", b"b"}
