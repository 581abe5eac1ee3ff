"""The store's ledger entry: what the store wrote for a request id, and whether its result
went out. The value of the compacted ``store-ledger`` topic (keyed by request id)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StoreLedgerEntry(BaseModel):
    """One request id's entry; a tombstone (no value) forgets the id."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    request_id: str = Field(min_length=1, max_length=200, description="Also the Kafka key.")
    requested_path: str = Field(description="The output path the request asked for.")
    relative_path: str = Field(description="Where the bytes went (differs under keep-both).")
    sha256: str = Field(description="sha256 of the stored bytes.")
    bytes: int = Field(ge=0, description="Their size.")
    request_sha256: str | None = Field(
        default=None,
        description="The request's fingerprint; none in entries of older releases.",
    )
    delivered: bool = Field(
        default=False, description="The broker acknowledged the request's `stored` record."
    )
