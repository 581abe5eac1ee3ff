"""The metrics event every stage emits for every record it handles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from pipeline.records.base import Record, utcnow


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    RETRY = "retry"


class MetricsEvent(Record):
    stage: str
    outcome: Outcome
    duration_ms: float = Field(ge=0)
    event_time: datetime = Field(default_factory=utcnow)
    error_code: str | None = None
    stubs: int = 0
    attempt: int = 1
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    end_to_end_ms: float | None = Field(
        default=None, description="Set by the terminal stage: submitted → stored/failed."
    )
