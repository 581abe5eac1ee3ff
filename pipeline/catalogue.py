"""The topic catalogue: every topic, its partitions, key, record model and retention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.records import (
    AlertRaised,
    CodeGenerated,
    CodeInjected,
    CodeValidated,
    CodeVerified,
    FileStored,
    GenerationRequest,
    Intent,
    MetricsEvent,
    MetricsRecorded,
    RequestFailed,
    StubsExtracted,
)

DAY_MS = 24 * 3600 * 1000
# A record carries its module's source more than once (request, injected result): with the
# default 1 MiB source limit a record can pass Kafka's default 1 MB message limit.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    key: str
    partitions: int
    value_model: type[BaseModel]
    retention_ms: int
    description: str
    key_field: str = "request_id"

    def name(self, prefix: str) -> str:
        return f"{prefix}{self.key}"

    def describe(self, prefix: str) -> dict[str, Any]:
        return {
            "name": self.name(prefix),
            "partitions": self.partitions,
            "key": self.key_field,
            "value": self.value_model.__name__,
            "schema": f"schemas/{self.value_model.__name__}.schema.json",
            "retention_ms": self.retention_ms,
            "description": self.description,
        }


STAGE_PARTITIONS = 8

TOPICS: dict[str, TopicSpec] = {
    spec.key: spec
    for spec in (
        TopicSpec(
            "requests",
            STAGE_PARTITIONS,
            GenerationRequest,
            7 * DAY_MS,
            "Generation requests published by users.",
        ),
        TopicSpec(
            "stubs",
            STAGE_PARTITIONS,
            StubsExtracted,
            7 * DAY_MS,
            "Stubs found in each request's module.",
        ),
        TopicSpec(
            "repairs",
            STAGE_PARTITIONS,
            StubsExtracted,
            7 * DAY_MS,
            "Stubs whose bodies failed validation or tests, back to generate with the findings.",
        ),
        TopicSpec(
            "generated",
            STAGE_PARTITIONS,
            CodeGenerated,
            7 * DAY_MS,
            "A generated body for every stub.",
        ),
        TopicSpec(
            "validated",
            STAGE_PARTITIONS,
            CodeValidated,
            7 * DAY_MS,
            "Generated bodies that passed static validation.",
        ),
        TopicSpec(
            "injected",
            STAGE_PARTITIONS,
            CodeInjected,
            7 * DAY_MS,
            "Modules with every stub filled in.",
        ),
        TopicSpec(
            "verified",
            STAGE_PARTITIONS,
            CodeVerified,
            7 * DAY_MS,
            "Filled modules whose tests passed in the sandbox.",
        ),
        TopicSpec("stored", 4, FileStored, 30 * DAY_MS, "Terminal: where each result was written."),
        TopicSpec(
            "failed",
            4,
            RequestFailed,
            30 * DAY_MS,
            "Terminal: requests that failed, and dead letters, with a clear reason.",
        ),
        # One partition: the reducer's windows are global, and one worker folds far more
        # events per second than the stages produce.
        TopicSpec(
            "metrics", 1, MetricsEvent, 7 * DAY_MS, "One event per stage per record handled."
        ),
        TopicSpec(
            "intents",
            1,
            Intent,
            7 * DAY_MS,
            "What the metrics reducer asks the executor to do.",
            key_field="intent_id",
        ),
        TopicSpec(
            "metrics-recorded",
            1,
            MetricsRecorded,
            30 * DAY_MS,
            "A closed window's metrics were persisted.",
            key_field="intent_id",
        ),
        TopicSpec(
            "alerts",
            1,
            AlertRaised,
            30 * DAY_MS,
            "A window crossed a failure-rate or latency threshold.",
            key_field="intent_id",
        ),
    )
}

STAGE_INPUTS: dict[str, str] = {
    "extract": "requests",
    "generate": "stubs",
    "validate": "generated",
    "inject": "validated",
    "verify": "injected",
    "store": "verified",
}
STAGE_OUTPUTS: dict[str, str] = {
    "extract": "stubs",
    "generate": "generated",
    "validate": "validated",
    "inject": "injected",
    "verify": "verified",
    "store": "stored",
}
# Further topics a stage consumes besides its main input.
STAGE_EXTRA_INPUTS: dict[str, tuple[str, ...]] = {"generate": ("repairs",)}
# Topics a stage may route a record to besides its usual output.
STAGE_ROUTED_OUTPUTS: dict[str, tuple[str, ...]] = {
    "validate": ("repairs",),
    "verify": ("repairs",),
}
STAGES: tuple[str, ...] = tuple(STAGE_INPUTS)
# Every kind of worker process: the stages, the metrics reducer and the intent executor.
WORKERS: tuple[str, ...] = (*STAGES, "metrics", "executor")


def topic_name(key: str, prefix: str) -> str:
    return TOPICS[key].name(prefix)


def catalogue_document(prefix: str = "codegen.") -> dict[str, Any]:
    return {
        "prefix": prefix,
        "encoding": "UTF-8 JSON, no envelope; the key is the UTF-8 request id",
        "topics": [spec.describe(prefix) for spec in TOPICS.values()],
        "stages": [
            {"stage": s, "input": STAGE_INPUTS[s], "output": STAGE_OUTPUTS[s]} for s in STAGES
        ],
    }


def record_models() -> list[type[BaseModel]]:
    return [spec.value_model for spec in TOPICS.values()]


def export(directory: Path) -> list[Path]:
    """Write ``catalogue.json`` and one JSON Schema per record into ``directory``."""
    written: list[Path] = []
    (directory / "schemas").mkdir(parents=True, exist_ok=True)
    for path, document in rendered_files().items():
        target = directory / path
        target.write_text(document, encoding="utf-8")
        written.append(target)
    return written


def rendered_files() -> dict[str, str]:
    files = {"catalogue.json": _dump(catalogue_document())}
    for model in record_models():
        files[f"schemas/{model.__name__}.schema.json"] = _dump(model.model_json_schema())
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
