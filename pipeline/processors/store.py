"""The store stage's processor: the filled module written under the store root."""

from __future__ import annotations

from typing import ClassVar

from pipeline.records import CodeVerified, FileStored, Record
from pipeline.settings import Settings
from pipeline.stages.store import ArtifactStore
from pipeline.stages.store.ledger import Ledger

from .base import Processor, carried


class StoreProcessor(Processor[CodeVerified, FileStored]):
    stage: ClassVar[str] = "store"
    input_model: ClassVar[type[Record]] = CodeVerified

    def __init__(self, settings: Settings, ledger: Ledger | None = None) -> None:
        """``ledger``: where requests are remembered; by default files below the store root
        (the store worker passes the Kafka-backed one when ``CODEGEN_STORE_LEDGER=kafka``)."""
        self.store = ArtifactStore(
            settings.store_root,
            permissions=settings.store_permissions,
            policy=settings.overwrite_policy,
            ledger=ledger,
        )

    async def process(self, record: CodeVerified) -> FileStored:
        artifact = self.store.write(
            record.request.output_path,
            record.source,
            request_id=record.request_id,
            request_sha256=record.request.fingerprint(),
        )
        return FileStored(
            **carried(record),
            output_path=record.request.output_path,
            source=record.source,
            sha256=artifact.sha256,
            artifact=artifact,
            filled=record.filled,
            metadata=record.request.metadata,
            verification=record.verification,
        )

    def already_delivered(self, record: CodeVerified) -> bool:
        return self.store.delivered(record.request_id, record.request.fingerprint())

    def delivered(self, result: FileStored) -> None:
        self.store.mark_delivered(result.request_id)

    def stub_count(self, record: CodeVerified) -> int:
        return len(record.filled)
