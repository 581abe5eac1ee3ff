"""Fields every record carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_request_id() -> str:
    return str(uuid.uuid4())


class Record(BaseModel):
    """Base of every request-keyed record. Unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this schema.")
    request_id: str = Field(min_length=1, max_length=200, description="Also the Kafka key.")
    submitted_at: datetime = Field(description="When the request was submitted (UTC).")
    produced_at: datetime = Field(
        default_factory=utcnow, description="When this record was produced (UTC)."
    )
