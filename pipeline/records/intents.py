"""Intent records: what the metrics reducer asks the executor to do."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.records.base import SCHEMA_VERSION, utcnow


class IntentType(StrEnum):
    PERSIST_METRICS = "PERSIST_METRICS"
    PUBLISH_METRICS_RECORDED = "PUBLISH_METRICS_RECORDED"
    ALERT = "ALERT"


class Intent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    intent_id: str = Field(description="Deterministic from window and type; also the Kafka key.")
    type: str
    target: str
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class MetricsRecorded(BaseModel):
    """Published by the executor when a window's metrics were recorded."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    intent_id: str = Field(description="The intent this record carries out; also the key.")
    window: dict[str, str] = Field(description="kind, start and end of the window.")
    summary: dict[str, Any]
    produced_at: datetime = Field(default_factory=utcnow)


class AlertRaised(BaseModel):
    """A window crossed a configured threshold (failure rate or p95 latency)."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    intent_id: str = Field(description="The ALERT intent; also the key.")
    payload: dict[str, Any]
    produced_at: datetime = Field(default_factory=utcnow)
