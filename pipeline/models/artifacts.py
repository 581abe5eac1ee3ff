"""What the store stage writes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StoredArtifact(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    relative_path: str
    bytes: int
    sha256: str
