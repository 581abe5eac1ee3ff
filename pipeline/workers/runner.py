"""One consumed message in, the messages to produce out: decode, process, encode.

No Kafka here either: the Faust agent sends what ``StageRunner.handle`` returns, so this
is unit-tested without a broker.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from tenacity import (
    AsyncRetrying,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from pipeline.catalogue import stage_spec
from pipeline.errors import StageError
from pipeline.processors import Processor, Routed
from pipeline.records import (
    DecodeError,
    MetricsEvent,
    Outcome,
    Record,
    RequestFailed,
    Usage,
    decode,
    encode,
    utcnow,
)
from pipeline.settings import Settings

log = logging.getLogger(__name__)

MAX_DEAD_LETTER_PAYLOAD = 256 * 1024
MAX_REQUEST_ID = 200  # characters, as the records' ``request_id`` allows
# JSON overhead on top of the source limit: bodies, stubs and context ride along.
RECORD_SIZE_FACTOR = 4


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: bytes
    value: bytes
    # Called once the broker has acknowledged the record.
    on_delivered: Callable[[], None] | None = None


class StageRunner:
    def __init__(self, processor: Processor[Any, Any], settings: Settings) -> None:
        self.processor = processor
        self.settings = settings
        self.stage = processor.stage
        spec = stage_spec(self.stage)
        self.output_topic = spec.output
        self.terminal = spec.ends_requests
        self.max_record_bytes = settings.max_source_bytes * RECORD_SIZE_FACTOR

    async def handle(self, key: bytes | None, value: bytes | None, origin: str) -> list[Outgoing]:
        started = time.perf_counter()
        try:
            record = decode(self.processor.input_model, value, max_bytes=self.max_record_bytes)
        except DecodeError as exc:
            return self._undecodable(key, value, origin, exc, started)
        if key and "request_id" not in record.model_fields_set:
            # A hand-written request (kcat -k ID) may carry its id only as the key.
            key_id = _request_id_from_key(key)
            if key_id is None:
                return self._unusable_key(key, value, origin, started)
            record = record.model_copy(update={"request_id": key_id})
        if self.processor.already_delivered(record):
            log.info("%s: request %s was delivered before; not again", origin, record.request_id)
            return []
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                # A cancelled record (a drain's bound passed) is handed back, not retried:
                # tenacity would otherwise catch the CancelledError like any error.
                retry=retry_if_not_exception_type((StageError, asyncio.CancelledError)),
                stop=stop_after_attempt(self.settings.processing_retries),
                wait=wait_exponential(multiplier=0.1, max=2.0),
                reraise=True,
            ):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result: Record | Routed = await self.processor.process(record)
        except StageError as exc:
            attempts = int(exc.details.get("attempts", attempts))
            return self._failed(record, exc.code, exc.message, exc.details, attempts, started)
        except Exception as exc:
            log.exception("%s: giving up on %s after %d attempts", self.stage, origin, attempts)
            return self._failed(
                record,
                "INTERNAL_ERROR",
                f"the {self.stage} stage failed {attempts} time(s): {type(exc).__name__}: {exc}",
                {"exception": type(exc).__name__},
                attempts,
                started,
                payload=value,
            )
        if isinstance(result, Routed):
            topic, produced, outcome = result.topic, result.record, Outcome.RETRY
        else:
            topic, produced, outcome = self.output_topic, result, Outcome.OK
        measured = (
            result.measured
            if isinstance(result, Routed) and result.measured
            else self.processor.measured(record, produced)
        )
        metrics = self._metrics(
            record,
            outcome,
            started,
            stubs=measured.stubs,
            usage=measured.usage,
            terminal=self.terminal and outcome is Outcome.OK,
        )
        on_delivered = (
            partial(self.processor.delivered, produced) if outcome is Outcome.OK else None
        )
        output = Outgoing(topic, record.request_id.encode(), encode(produced), on_delivered)
        return [output, metrics]

    # -- failures -----------------------------------------------------------------------

    def _undecodable(
        self,
        key: bytes | None,
        value: bytes | None,
        origin: str,
        exc: DecodeError,
        started: float,
    ) -> list[Outgoing]:
        request_id = shown_key(key) if key else f"undecodable:{origin}"
        payload, encoding = _dead_letter_payload(value)
        failed = RequestFailed(
            request_id=request_id,
            submitted_at=utcnow(),
            stage=self.stage,
            error_code=exc.code,
            message=f"{self.stage}: {exc.message}",
            details={"origin": origin, "bytes": len(value or b"")},
            payload=payload,
            payload_encoding=encoding,
        )
        log.warning("%s: %s (%s)", origin, exc.message, exc.code)
        return self._dead_letter(key or request_id.encode(), failed, started)

    def _unusable_key(
        self, key: bytes, value: bytes | None, origin: str, started: float
    ) -> list[Outgoing]:
        """The record has no id and its key cannot be one: refused, keyed by that key, so
        the sender finds the answer where it looks."""
        payload, encoding = _dead_letter_payload(value)
        failed = RequestFailed(
            request_id=shown_key(key),
            submitted_at=utcnow(),
            stage=self.stage,
            error_code="INVALID_REQUEST_ID",
            message=f"{self.stage}: the record has no request_id and its Kafka key cannot be one "
            f"({_key_problem(key)}); a request id is 1 to {MAX_REQUEST_ID} printable "
            "characters, in the key or in the record's request_id",
            details={"origin": origin, "key_bytes": len(key)},
            payload=payload,
            payload_encoding=encoding,
        )
        log.warning("%s: %s (INVALID_REQUEST_ID)", origin, failed.message)
        return self._dead_letter(key, failed, started)

    def _dead_letter(self, key: bytes, failed: RequestFailed, started: float) -> list[Outgoing]:
        metric = self._metric(
            failed.request_id, failed.submitted_at, Outcome.FAILED, started, failed.error_code
        )
        return [Outgoing("failed", key, encode(failed)), replace(metric, key=key)]

    def _failed(
        self,
        record: Record,
        code: str,
        message: str,
        details: dict[str, Any],
        attempts: int,
        started: float,
        payload: bytes | None = None,
    ) -> list[Outgoing]:
        text, encoding = _dead_letter_payload(payload) if payload is not None else (None, None)
        failed = RequestFailed(
            request_id=record.request_id,
            submitted_at=record.submitted_at,
            stage=self.stage,
            error_code=code,
            message=message,
            details=details,
            attempts=max(attempts, 1),
            payload=text,
            payload_encoding=encoding,
        )
        return [
            Outgoing("failed", record.request_id.encode(), encode(failed)),
            self._metrics(
                record,
                Outcome.FAILED,
                started,
                error_code=code,
                usage=Usage.of_details(details),  # calls paid for before the failure
                terminal=True,
            ),
        ]

    # -- metrics ------------------------------------------------------------------------

    def _metrics(
        self,
        record: Record,
        outcome: Outcome,
        started: float,
        *,
        error_code: str | None = None,
        stubs: int = 0,
        usage: Usage | None = None,
        terminal: bool = False,
    ) -> Outgoing:
        return self._metric(
            record.request_id,
            record.submitted_at,
            outcome,
            started,
            error_code,
            stubs=stubs,
            usage=usage,
            terminal=terminal,
            attempt=self.processor.attempt(record),
        )

    def _metric(
        self,
        request_id: str,
        submitted_at: Any,
        outcome: Outcome,
        started: float,
        error_code: str | None,
        *,
        stubs: int = 0,
        usage: Usage | None = None,
        terminal: bool = True,
        attempt: int = 1,
    ) -> Outgoing:
        now = utcnow()
        event = MetricsEvent(
            request_id=request_id,
            submitted_at=submitted_at,
            stage=self.stage,
            outcome=outcome,
            duration_ms=(time.perf_counter() - started) * 1000,
            event_time=now,
            error_code=error_code,
            stubs=stubs,
            attempt=attempt,
            **(usage or Usage()).fields(),
            end_to_end_ms=(
                max((now - submitted_at).total_seconds() * 1000, 0.0) if terminal else None
            ),
        )
        return Outgoing("metrics", request_id.encode(), encode(event))


def _request_id_from_key(key: bytes | None) -> str | None:
    if not key:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if 0 < len(text) <= MAX_REQUEST_ID and text.isprintable() else None


def shown_key(key: bytes) -> str:
    """The key as a request id: decoded with replacements, cut to fit with a "…"."""
    text = key.decode("utf-8", "replace")
    return text if len(text) <= MAX_REQUEST_ID else text[: MAX_REQUEST_ID - 1] + "…"


def _key_problem(key: bytes) -> str:
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8"
    if len(text) > MAX_REQUEST_ID:
        return f"it is {len(text)} characters long"
    return "it holds characters that are not printable"


def _dead_letter_payload(value: bytes | None) -> tuple[str | None, Any]:
    if value is None:
        return None, None
    clipped = value[:MAX_DEAD_LETTER_PAYLOAD]
    try:
        return clipped.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(clipped).decode("ascii"), "base64"
