"""The metrics event every stage emits for every record it handles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import Field

from pipeline.models import GeneratedBody
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


@dataclass(frozen=True)
class Usage:
    """What calls to a model cost: the ``model``, token and cost fields of a metrics event."""

    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of_bodies(cls, bodies: Iterable[GeneratedBody]) -> Usage:
        """The sum over ``bodies``; the model is the one most of them name."""
        bodies = list(bodies)
        models = Counter(body.model for body in bodies if body.model)
        return cls(
            model=models.most_common(1)[0][0] if models else None,
            prompt_tokens=sum(body.prompt_tokens for body in bodies),
            completion_tokens=sum(body.completion_tokens for body in bodies),
            cost_usd=sum(body.cost_usd for body in bodies),
        )

    @classmethod
    def of_details(cls, details: Mapping[str, Any]) -> Usage:
        """The usage a failure's details report (``model``, ``prompt_tokens``, ...)."""
        model = details.get("model")
        return cls(
            model=model if isinstance(model, str) and model else None,
            prompt_tokens=_number(details.get("prompt_tokens"), int),
            completion_tokens=_number(details.get("completion_tokens"), int),
            cost_usd=_number(details.get("cost_usd"), float),
        )

    def fields(self) -> dict[str, Any]:
        return asdict(self)


N = TypeVar("N", int, float)


def _number(value: object, kind: type[N]) -> N:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return kind(value)
    return kind(0)
