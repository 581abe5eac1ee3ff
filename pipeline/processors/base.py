"""The shape of a stage processor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from pipeline.records import Record, Usage

In = TypeVar("In", bound=Record)
Out = TypeVar("Out", bound=Record)


def carried(record: Record) -> dict[str, object]:
    """What every record of a request carries on from the one before: its id and when it was
    submitted."""
    return {"request_id": record.request_id, "submitted_at": record.submitted_at}


@dataclass(frozen=True)
class Measured:
    """What the metrics event of a handled record reports besides its outcome."""

    stubs: int = 0
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Routed:
    """A record for another topic than the stage's usual output (e.g. ``repairs``);
    ``measured`` when the processor knows better than ``Processor.measured`` what the
    handling cost (calls whose replies are not in the record)."""

    topic: str
    record: Record
    measured: Measured | None = None


class Processor(ABC, Generic[In, Out]):
    """Turns the record a stage consumes into the record it produces.

    Raises ``StageError`` for failures a person must act on (they go to ``failed`` at once);
    any other exception is treated as transient and retried by the runner.
    """

    stage: ClassVar[str]
    input_model: ClassVar[type[Record]]

    @abstractmethod
    async def process(self, record: In) -> Out | Routed: ...

    def stub_count(self, record: In) -> int:
        return 0

    def measured(self, record: In, result: Record) -> Measured:
        """The stubs and model usage of handling ``record`` into ``result`` (the record
        produced, whichever topic it goes to)."""
        return Measured(stubs=self.stub_count(record))

    def already_delivered(self, record: In) -> bool:
        """Whether this request's result went out before: the record is a redelivery, and
        nothing is produced for it again. Only a stage that ends requests knows."""
        return False

    def delivered(self, result: Out) -> None:
        """Called once ``result`` has reached Kafka (the broker acknowledged it)."""

    def attempt(self, record: In) -> int:
        return int(getattr(record, "attempt", 1))

    async def aclose(self) -> None:
        """Release what the processor holds (HTTP clients, ...)."""
