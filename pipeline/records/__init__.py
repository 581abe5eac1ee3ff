"""Wire records: one pydantic model per topic, serialised as plain UTF-8 JSON."""

from pipeline.records.base import SCHEMA_VERSION, Record, new_request_id, utcnow
from pipeline.records.codec import DecodeError, decode, encode
from pipeline.records.intents import Intent, IntentType
from pipeline.records.metrics import MetricsEvent, Outcome
from pipeline.records.stages import (
    CodeGenerated,
    CodeInjected,
    CodeValidated,
    FileStored,
    GenerationRequest,
    RequestFailed,
    StubsExtracted,
)

__all__ = [
    "SCHEMA_VERSION",
    "CodeGenerated",
    "CodeInjected",
    "CodeValidated",
    "DecodeError",
    "FileStored",
    "GenerationRequest",
    "Intent",
    "IntentType",
    "MetricsEvent",
    "Outcome",
    "Record",
    "RequestFailed",
    "StubsExtracted",
    "decode",
    "encode",
    "new_request_id",
    "utcnow",
]
