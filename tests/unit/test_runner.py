"""StageRunner: decode, process, encode; failures become records, never exceptions."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import pytest

from pipeline.errors import StageError
from pipeline.models import ExtractionResult
from pipeline.processors import Processor
from pipeline.records import (
    GenerationRequest,
    MetricsEvent,
    Record,
    RequestFailed,
    StubsExtracted,
    decode,
    encode,
)
from pipeline.settings import Settings
from pipeline.workers.runner import StageRunner


class ScriptedExtract(Processor[GenerationRequest, StubsExtracted]):
    stage: ClassVar[str] = "extract"
    input_model: ClassVar[type[Record]] = GenerationRequest

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    async def process(self, record: GenerationRequest) -> StubsExtracted:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return StubsExtracted(
            request_id=record.request_id,
            submitted_at=record.submitted_at,
            request=record,
            extraction=ExtractionResult(),
        )


def runner(*failures: Exception) -> tuple[StageRunner, ScriptedExtract]:
    processor = ScriptedExtract(list(failures))
    return StageRunner(processor, Settings(processing_retries=3)), processor


REQUEST = GenerationRequest(request_id="r-1", source="x = 1\n", output_path="x.py")


async def test_a_good_record_goes_to_the_output_topic_with_a_metrics_event() -> None:
    stage, _ = runner()
    out = await stage.handle(b"r-1", encode(REQUEST), "requests[0]@0")
    assert [o.topic for o in out] == ["stubs", "metrics"]
    assert all(o.key == b"r-1" for o in out)
    assert decode(StubsExtracted, out[0].value).request == REQUEST
    metrics = decode(MetricsEvent, out[1].value)
    assert (metrics.stage, metrics.outcome) == ("extract", "ok")
    assert metrics.end_to_end_ms is None


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"nope", "NOT_JSON"),
        (b"\xff", "NOT_UTF8"),
        (b"{}", "SCHEMA_MISMATCH"),
        (None, "EMPTY_RECORD"),
    ],
)
async def test_undecodable_records_become_failed_records(payload: bytes | None, code: str) -> None:
    stage, processor = runner()
    out = await stage.handle(b"key-7", payload, "requests[3]@9")
    failed = decode(RequestFailed, out[0].value)
    assert out[0].topic == "failed"
    assert (failed.request_id, failed.error_code, failed.stage) == ("key-7", code, "extract")
    assert failed.details["origin"] == "requests[3]@9"
    assert processor.calls == 0


async def test_without_a_key_the_origin_names_the_failed_record() -> None:
    stage, _ = runner()
    out = await stage.handle(None, b"nope", "requests[3]@9")
    assert decode(RequestFailed, out[0].value).request_id == "undecodable:requests[3]@9"


async def test_binary_payloads_are_kept_as_base64() -> None:
    stage, _ = runner()
    failed = decode(RequestFailed, (await stage.handle(b"k", b"\xff\x00", "o"))[0].value)
    assert failed.payload_encoding == "base64"


async def test_a_stage_error_fails_at_once_with_its_code() -> None:
    stage, processor = runner(StageError("the source is bad", code="SOURCE_SYNTAX_ERROR"))
    out = await stage.handle(b"r-1", encode(REQUEST), "o")
    failed = decode(RequestFailed, out[0].value)
    assert (failed.error_code, failed.message, processor.calls) == (
        "SOURCE_SYNTAX_ERROR",
        "the source is bad",
        1,
    )
    metrics = decode(MetricsEvent, out[1].value)
    assert metrics.outcome == "failed" and metrics.end_to_end_ms is not None


async def test_transient_errors_are_retried_then_succeed() -> None:
    stage, processor = runner(OSError("disk hiccup"))
    out = await stage.handle(b"r-1", encode(REQUEST), "o")
    assert out[0].topic == "stubs" and processor.calls == 2


async def test_errors_that_keep_failing_become_a_dead_letter_with_the_payload() -> None:
    stage, processor = runner(*(RuntimeError(f"boom {i}") for i in range(5)))
    out = await stage.handle(b"r-1", encode(REQUEST), "o")
    failed = decode(RequestFailed, out[0].value)
    assert failed.error_code == "INTERNAL_ERROR"
    assert failed.attempts == 3 == processor.calls
    assert json.loads(failed.payload or "")["request_id"] == "r-1"


async def test_a_request_without_an_id_takes_the_kafka_key() -> None:
    stage, _ = runner()
    payload = b'{"source": "x = 1\\n", "output_path": "x.py"}'
    out = await stage.handle(b"from-kcat", payload, "o")
    assert decode(StubsExtracted, out[0].value).request_id == "from-kcat"


class DeliveredBefore(ScriptedExtract):
    def __init__(self, delivered: set[str]) -> None:
        super().__init__([])
        self.seen = delivered
        self.marked: list[str] = []

    def already_delivered(self, record: GenerationRequest) -> bool:
        return record.request_id in self.seen

    def delivered(self, result: StubsExtracted) -> None:
        self.marked.append(result.request_id)


async def test_a_redelivered_request_produces_nothing() -> None:
    processor = DeliveredBefore({"r-1"})
    out = await StageRunner(processor, Settings()).handle(b"r-1", encode(REQUEST), "x[0]@0")
    assert out == []
    assert processor.calls == 0


async def test_a_result_reports_its_delivery_and_its_metrics_do_not() -> None:
    processor = DeliveredBefore(set())
    result, metrics = await StageRunner(processor, Settings()).handle(
        b"r-1", encode(REQUEST), "x[0]@0"
    )
    assert metrics.on_delivered is None
    assert result.on_delivered is not None
    assert processor.marked == []  # only once the broker has the record
    result.on_delivered()
    assert processor.marked == ["r-1"]


async def test_failures_report_no_delivery() -> None:
    stage, _ = runner(StageError("no", code="BAD"))
    assert all(o.on_delivered is None for o in await stage.handle(b"r-1", encode(REQUEST), "o"))


HAND_WRITTEN = json.dumps({"source": "x = 1\n", "output_path": "x.py"}).encode()


@pytest.mark.parametrize(
    ("key", "problem"),
    [(b"k" * 300, "300 characters long"), (b"\xff\xfe-id", "not UTF-8"), (b"a\nb", "printable")],
)
async def test_a_key_that_cannot_be_a_request_id_is_refused_under_that_key(
    key: bytes, problem: str
) -> None:
    stage, processor = runner()
    out = await stage.handle(key, HAND_WRITTEN, "requests[0]@5")
    assert [o.topic for o in out] == ["failed", "metrics"]
    assert [o.key for o in out] == [key, key], "keyed by what was sent"
    failed = decode(RequestFailed, out[0].value)
    assert failed.error_code == "INVALID_REQUEST_ID"
    assert problem in failed.message
    assert len(failed.request_id) <= 200
    assert failed.payload == HAND_WRITTEN.decode()
    assert processor.calls == 0


async def test_a_long_key_shows_its_start_in_the_failed_record() -> None:
    stage, _ = runner()
    out = await stage.handle(b"k" * 300, HAND_WRITTEN, "requests[0]@5")
    assert decode(RequestFailed, out[0].value).request_id == "k" * 199 + "…"
    assert decode(MetricsEvent, out[1].value).request_id == "k" * 199 + "…"


async def test_a_record_with_its_own_id_needs_no_usable_key() -> None:
    stage, _ = runner()
    out = await stage.handle(b"k" * 300, encode(REQUEST), "requests[0]@5")
    assert [o.topic for o in out] == ["stubs", "metrics"]
    assert decode(StubsExtracted, out[0].value).request_id == "r-1"


async def test_an_undecodable_record_is_refused_under_its_key_even_a_long_one() -> None:
    stage, _ = runner()
    out = await stage.handle(b"k" * 300, b"not json", "requests[0]@5")
    assert [o.key for o in out] == [b"k" * 300] * 2
    assert decode(RequestFailed, out[0].value).error_code == "NOT_JSON"


class Hanging(ScriptedExtract):
    async def process(self, record: GenerationRequest) -> StubsExtracted:
        self.calls += 1
        await asyncio.sleep(60)
        raise AssertionError("not reached")


async def test_a_cancelled_record_is_neither_retried_nor_failed() -> None:
    processor = Hanging([])
    task = asyncio.ensure_future(
        StageRunner(processor, Settings(processing_retries=3)).handle(
            b"r-1", encode(REQUEST), "x[0]@0"
        )
    )
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processor.calls == 1
