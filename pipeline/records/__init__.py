"""Wire records: one pydantic model per topic, serialised as plain UTF-8 JSON."""

from pipeline.records.base import SCHEMA_VERSION, Record, new_request_id, utcnow
from pipeline.records.codec import DecodeError, decode, encode
from pipeline.records.intents import AlertRaised, Intent, IntentType, MetricsRecorded
from pipeline.records.ledger import StoreLedgerEntry
from pipeline.records.metrics import MetricsEvent, Outcome, Usage
from pipeline.records.stages import (
    CodeGenerated,
    CodeInjected,
    CodeValidated,
    CodeVerified,
    FileStored,
    GenerationRequest,
    RequestFailed,
    StubsExtracted,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlertRaised",
    "CodeGenerated",
    "CodeInjected",
    "CodeValidated",
    "CodeVerified",
    "DecodeError",
    "FileStored",
    "GenerationRequest",
    "Intent",
    "IntentType",
    "MetricsEvent",
    "MetricsRecorded",
    "Outcome",
    "Record",
    "RequestFailed",
    "StoreLedgerEntry",
    "StubsExtracted",
    "Usage",
    "decode",
    "encode",
    "new_request_id",
    "utcnow",
]
