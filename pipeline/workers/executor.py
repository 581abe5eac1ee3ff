"""Carrying out the metrics reducer's intents: the only place its decisions touch the world."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from pipeline.errors import StageError
from pipeline.records import AlertRaised, Intent, IntentType, MetricsRecorded, encode
from pipeline.stages.store import ArtifactStore

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bytes], Awaitable[None]]


class UnknownIntentError(StageError):
    code = "UNKNOWN_INTENT"


def snapshot_path(window: dict[str, str]) -> str:
    """``hourly/2026-11-24T14-00-00Z.json``: one file per window and kind."""
    start = datetime.fromisoformat(window["start"]).strftime("%Y-%m-%dT%H-%M-%SZ")
    return f"{window['kind']}/{start}.json"


class IntentExecutor:
    """Executes one intent; idempotent by intent id together with the caller's ledger."""

    def __init__(self, store: ArtifactStore, publish: Publish) -> None:
        self.store = store
        self.publish = publish

    async def execute(self, intent: Intent) -> None:
        key = intent.intent_id.encode()
        if intent.type == IntentType.PERSIST_METRICS:
            document = json.dumps(intent.payload, indent=2, sort_keys=True) + "\n"
            # The store's ledger makes a repeated intent id a no-op returning the same file.
            self.store.write(
                snapshot_path(intent.payload["window"]), document, request_id=intent.intent_id
            )
        elif intent.type == IntentType.PUBLISH_METRICS_RECORDED:
            recorded = MetricsRecorded(
                intent_id=intent.intent_id,
                window=intent.payload["window"],
                summary=intent.payload.get("summary", {}),
            )
            await self.publish("metrics-recorded", key, encode(recorded))
        elif intent.type == IntentType.ALERT:
            payload = intent.payload
            log.warning(
                "ALERT %s in %s window %s: %s (threshold %s)",
                payload.get("condition"),
                payload.get("window", {}).get("kind"),
                payload.get("window", {}).get("start"),
                payload.get("value"),
                payload.get("threshold"),
            )
            await self.publish(
                "alerts", key, encode(AlertRaised(intent_id=intent.intent_id, payload=payload))
            )
        else:
            raise UnknownIntentError(
                f"unknown intent type {intent.type!r} (known: "
                f"{', '.join(t.value for t in IntentType)})"
            )


def by_priority(intents: list[Intent]) -> list[Intent]:
    """Higher priority first; ties keep their order in the batch."""
    return sorted(intents, key=lambda intent: -intent.priority)
