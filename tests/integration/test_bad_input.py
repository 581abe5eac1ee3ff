"""Bad requests on a real broker: each ends on `failed` with its code, and no worker dies.

One start of the five stage workers (separate OS processes); good requests go in before and
after the bad ones and must still be stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pipeline.broker.connection import aiokafka_options
from pipeline.catalogue import topic_name
from pipeline.client import PipelineClient, build_request
from pipeline.records import FileStored, GenerationRequest, RequestFailed, encode
from pipeline.settings import Settings
from pipeline.workers.runner import RECORD_SIZE_FACTOR
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source
from tests.integration.test_generation import read_topic

pytestmark = pytest.mark.integration

RESULT_TIMEOUT = 240.0
MAX_SOURCE_BYTES = 40_000  # given to the workers as CODEGEN_MAX_SOURCE_BYTES
LONG_KEY = "long-key-" + "k" * 300  # too long for a request id
LONG_KEY_SHOWN = LONG_KEY[:199] + "…"  # the id the failed record shows


def example(name: str, request_id: str, output_path: str, **changes: Any) -> GenerationRequest:
    request = build_request(EXAMPLES / name, output_path=output_path)
    return request.model_copy(update={"request_id": request_id, **changes})


def bodies_with(request: GenerationRequest, rename: dict[str, str] | None = None) -> dict[str, str]:
    bodies = dict(request.bodies)
    for old, new in (rename or {}).items():
        bodies[new] = bodies.pop(old)
    return bodies


async def test_bad_requests_end_on_failed_and_the_workers_keep_running(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
    tmp_path: Path,
) -> None:
    settings = pipeline_settings
    outside = tmp_path / "outside"
    outside.mkdir()
    settings.store_root.mkdir(parents=True, exist_ok=True)
    (settings.store_root / "escape").symlink_to(outside, target_is_directory=True)

    client: PipelineClient = await client_factory(settings)
    workers = workers_factory(settings, env={"CODEGEN_MAX_SOURCE_BYTES": str(MAX_SOURCE_BYTES)})

    inventory = example("inventory.py", "good-before", "good/before/inventory.py")
    good_after = [
        example("rate_limiter.py", "good-after-1", "good/after/rate_limiter.py"),
        example("inventory.py", "good-after-2", "good/after/inventory.py"),
    ]
    deep_body = "return " + " and ".join(["x"] * 8000) + "\n"
    missing = bodies_with(inventory)
    del missing["Inventory.total_value"]
    modelled: dict[str, GenerationRequest] = {
        "bad-too-large": GenerationRequest(
            source="x = 1\n" + "#" * (MAX_SOURCE_BYTES + 10), output_path="big.py"
        ),
        "bad-syntax": GenerationRequest(
            source="class Broken:\n    def method(self) -> None:\n        return (\n",
            output_path="broken.py",
        ),
        "bad-unknown-name": inventory.model_copy(
            update={
                "bodies": bodies_with(inventory, {"Inventory.add_item": "Inventory.add_itme"}),
                "output_path": "unknown.py",
            }
        ),
        "bad-missing-body": inventory.model_copy(
            update={"bodies": missing, "output_path": "missing.py"}
        ),
        # flat for CPython, 8000 levels deep for libcst: this used to kill the validate worker
        "bad-deep-body": inventory.model_copy(
            update={
                "bodies": {**inventory.bodies, "Report.total_value": deep_body},
                "output_path": "deep.py",
            }
        ),
        "bad-dot-dot": inventory.model_copy(update={"output_path": "../escape.py"}),
        "bad-absolute": inventory.model_copy(update={"output_path": str(outside / "abs.py")}),
        "bad-symlink": inventory.model_copy(update={"output_path": "escape/inventory.py"}),
        # refused by the store's rules, checked at extract before any generation
        "bad-backslash": inventory.model_copy(update={"output_path": "pkg\\inventory.py"}),
        "bad-too-long": inventory.model_copy(update={"output_path": "/".join(["d" * 250] * 17)}),
    }
    huge = GenerationRequest(
        request_id="bad-record-too-large", source="#" * (5 * MAX_SOURCE_BYTES), output_path="h.py"
    )
    raw: dict[str, bytes] = {
        "bad-not-json": b"this is { not json",
        "bad-not-utf8": b'{"source": "\xff\xfe", "output_path": "x.py"}',
        "bad-wrong-schema": b"[1, 2, 3]",
        "bad-missing-fields": json.dumps({"source": "x = 1\n"}).encode(),
        "bad-record-too-large": encode(huge),
    }
    expected: dict[str, tuple[str, str, str]] = {
        # request id: (stage, error code, text the message must contain)
        "bad-not-json": ("extract", "NOT_JSON", "not JSON"),
        "bad-not-utf8": ("extract", "NOT_UTF8", "not UTF-8"),
        "bad-wrong-schema": ("extract", "SCHEMA_MISMATCH", "does not match GenerationRequest"),
        "bad-missing-fields": ("extract", "SCHEMA_MISMATCH", "output_path: Field required"),
        "bad-record-too-large": (
            "extract",
            "RECORD_TOO_LARGE",
            f"over the limit of {MAX_SOURCE_BYTES * RECORD_SIZE_FACTOR}",
        ),
        "bad-too-large": ("extract", "SOURCE_TOO_LARGE", "CODEGEN_MAX_SOURCE_BYTES"),
        "bad-syntax": ("extract", "SOURCE_SYNTAX_ERROR", "line 3, column 16"),
        "bad-unknown-name": ("generate", "UNKNOWN_BODY_NAME", "did you mean Inventory.add_item?"),
        "bad-missing-body": ("generate", "MISSING_BODY", "Inventory.total_value"),
        "bad-deep-body": ("validate", "VALIDATION_FAILED", "nests over 200 levels deep"),
        "bad-dot-dot": ("extract", "PATH_OUTSIDE_ROOT", "'../escape.py'"),
        "bad-absolute": ("extract", "PATH_OUTSIDE_ROOT", "relative to the store root"),
        "bad-symlink": ("store", "PATH_OUTSIDE_ROOT", "outside the store root"),
        "bad-backslash": ("extract", "INVALID_PATH", "backslash"),
        "bad-too-long": ("extract", "INVALID_PATH", "PATH_MAX"),
        LONG_KEY_SHOWN: ("extract", "INVALID_REQUEST_ID", f"{len(LONG_KEY)} characters long"),
    }

    await client.submit(inventory)
    producer = AIOKafkaProducer(**aiokafka_options(settings), max_request_size=1024 * 1024)
    await producer.start()
    try:
        requests_topic = topic_name("requests", settings.topic_prefix)
        for request_id, value in raw.items():
            await producer.send_and_wait(requests_topic, value, key=request_id.encode())
        hand_written = {"source": inventory.source, "output_path": "long-key.py"}
        await producer.send_and_wait(
            requests_topic, json.dumps(hand_written).encode(), key=LONG_KEY.encode()
        )
    finally:
        await producer.stop()
    for request_id, request in modelled.items():
        await client.submit(request.model_copy(update={"request_id": request_id}))
    for request in good_after:
        await client.submit(request)

    good = [inventory, *good_after]
    ids = [*expected, *(request.request_id for request in good)]
    results = {r.request_id: r async for r in client.results(ids, timeout=RESULT_TIMEOUT)}

    for request_id, (stage, code, says) in expected.items():
        failure = results[request_id]
        assert isinstance(failure, RequestFailed), (request_id, failure)
        assert (failure.stage, failure.error_code) == (stage, code), (request_id, failure.message)
        assert says in failure.message, (request_id, failure.message)
    for request_id in ("bad-not-json", "bad-not-utf8", "bad-wrong-schema", "bad-missing-fields"):
        assert results[request_id].payload, request_id  # type: ignore[union-attr]
    for request in good:
        stored = results[request.request_id]
        assert isinstance(stored, FileStored), (request.request_id, stored)
        written = Path(stored.artifact.path)
        assert written == (settings.store_root / request.output_path).resolve()
        assert written.read_text(encoding="utf-8") == expected_source(request)
    assert list(outside.iterdir()) == [], "nothing was written outside the store root"
    assert not (tmp_path / "escape.py").exists()
    assert not workers.exited(), "no worker process exited"


async def test_a_reused_request_id_is_refused_and_a_redelivery_stays_silent(
    pipeline_settings: Settings,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    settings = pipeline_settings
    workers = workers_factory(settings)
    first = example("inventory.py", "reused", "reuse/inventory.py")
    client: PipelineClient = await client_factory(settings)
    stored = await client.submit_and_wait(first, timeout=RESULT_TIMEOUT)
    assert isinstance(stored, FileStored), stored

    # The same record again (a redelivery), then another request under the same id. One key,
    # one partition: once the second is answered, the first has been handled.
    producer = AIOKafkaProducer(**aiokafka_options(settings))
    await producer.start()
    try:
        requests_topic = topic_name("requests", settings.topic_prefix)
        await producer.send_and_wait(requests_topic, encode(first), key=b"reused")
    finally:
        await producer.stop()
    other = example("rate_limiter.py", "reused", "reuse/rate_limiter.py")
    late: PipelineClient = await client_factory(settings)  # sees only what comes from now on
    failed = await late.submit_and_wait(other, timeout=RESULT_TIMEOUT)
    assert isinstance(failed, RequestFailed), failed
    assert (failed.stage, failed.error_code) == ("store", "DUPLICATE_REQUEST_ID")
    assert "reuse/inventory.py" in failed.message
    assert not (settings.store_root / "reuse" / "rate_limiter.py").exists()

    stored_ids = [r.request_id for r in await read_topic(settings, "stored")]
    failed_records = [r for r in await read_topic(settings, "failed") if r.request_id == "reused"]
    assert stored_ids.count("reused") == 1, "the redelivery emitted nothing"
    assert [r.error_code for r in failed_records] == ["DUPLICATE_REQUEST_ID"]
    assert not workers.exited()
