"""Intents the metrics reducer emits, with deterministic ids.

An intent id is ``uuid5(INTENT_NAMESPACE, "<TYPE>:<kind>:<window start ISO>[:<condition>]")``, so
replaying the same events yields the same ids (the id is also the Kafka key, and executors use it
to ignore duplicates). ``created_at`` comes from the events, never from a clock: the triggering
event's time for an alert, the window end for a closed window.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pipeline.metrics.state import WindowState
from pipeline.metrics.windows import WindowKey, from_epoch
from pipeline.records.intents import Intent, IntentType

INTENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:codegen-pipeline:metrics-intents")

ALERT_PRIORITY = 10
PERSIST_PRIORITY = 5
PUBLISH_PRIORITY = 1

PERSIST_TARGET = "store"
PUBLISH_TARGET = "metrics-recorded"
ALERT_TARGET = "alerts"

FAILURE_RATE = "failure_rate"
P95_LATENCY = "p95_latency"
CONDITIONS: tuple[str, ...] = (FAILURE_RATE, P95_LATENCY)


def intent_id(intent_type: str, key: WindowKey, condition: str | None = None) -> str:
    start = from_epoch(key.start).isoformat()
    name = f"{intent_type}:{key.kind}:{start}"
    if condition is not None:
        name = f"{name}:{condition}"
    return str(uuid.uuid5(INTENT_NAMESPACE, name))


def window_payload(key: WindowKey) -> dict[str, Any]:
    return key.window().to_dict()


def alert_intent(
    key: WindowKey,
    condition: str,
    *,
    value: float,
    threshold: float,
    observed: int,
    at: datetime,
    target: str = ALERT_TARGET,
) -> Intent:
    """One alert for ``condition`` in window ``key``, raised by an event at ``at``."""
    kind = IntentType.ALERT.value
    return Intent(
        intent_id=intent_id(kind, key, condition),
        type=kind,
        target=target,
        payload={
            "window": window_payload(key),
            "condition": condition,
            "value": value,
            "threshold": threshold,
            "observed": observed,
            "raised_at": at.isoformat(),
        },
        priority=ALERT_PRIORITY,
        created_at=at,
    )


def persist_intent(key: WindowKey, state: WindowState, *, target: str = PERSIST_TARGET) -> Intent:
    """Store the full state and its summary of a closed window."""
    payload = {"state": state.to_dict(), "summary": state.summary()}
    return _closed_window_intent(IntentType.PERSIST_METRICS, key, target, payload, PERSIST_PRIORITY)


def publish_intent(key: WindowKey, state: WindowState, *, target: str = PUBLISH_TARGET) -> Intent:
    """Publish the summary of a closed window (``metrics-recorded``)."""
    payload = {"summary": state.summary()}
    return _closed_window_intent(
        IntentType.PUBLISH_METRICS_RECORDED, key, target, payload, PUBLISH_PRIORITY
    )


def _closed_window_intent(
    kind: IntentType, key: WindowKey, target: str, payload: dict[str, Any], priority: int
) -> Intent:
    """An intent about window ``key``, created at its end; ``payload`` joins its window."""
    return Intent(
        intent_id=intent_id(kind.value, key),
        type=kind.value,
        target=target,
        payload={"window": window_payload(key), **payload},
        priority=priority,
        created_at=from_epoch(key.end),
    )
