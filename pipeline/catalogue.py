"""The topic catalogue: every topic, its partitions, key, record model and retention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline import records

if TYPE_CHECKING:
    from pipeline.settings import Settings

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
    compacted: bool = False
    """``cleanup.policy=compact``: the latest record per key is kept (``retention_ms`` -1)."""

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
            **({"cleanup_policy": "compact"} if self.compacted else {}),
            "description": self.description,
        }


STAGE_PARTITIONS = 8

TOPICS: dict[str, TopicSpec] = {
    spec.key: spec
    for spec in (
        TopicSpec(
            "requests",
            STAGE_PARTITIONS,
            records.GenerationRequest,
            7 * DAY_MS,
            "Generation requests published by users.",
        ),
        TopicSpec(
            "stubs",
            STAGE_PARTITIONS,
            records.StubsExtracted,
            7 * DAY_MS,
            "Stubs found in each request's module.",
        ),
        TopicSpec(
            "repairs",
            STAGE_PARTITIONS,
            records.StubsExtracted,
            7 * DAY_MS,
            "Stubs whose bodies failed validation or tests, back to generate with the findings.",
        ),
        TopicSpec(
            "generated",
            STAGE_PARTITIONS,
            records.CodeGenerated,
            7 * DAY_MS,
            "A generated body for every stub.",
        ),
        TopicSpec(
            "validated",
            STAGE_PARTITIONS,
            records.CodeValidated,
            7 * DAY_MS,
            "Generated bodies that passed static validation.",
        ),
        TopicSpec(
            "injected",
            STAGE_PARTITIONS,
            records.CodeInjected,
            7 * DAY_MS,
            "Modules with every stub filled in.",
        ),
        TopicSpec(
            "verified",
            STAGE_PARTITIONS,
            records.CodeVerified,
            7 * DAY_MS,
            "Filled modules whose tests passed in the sandbox.",
        ),
        TopicSpec(
            "store-ledger",
            STAGE_PARTITIONS,  # as "verified": a store worker owns its partitions' entries
            records.StoreLedgerEntry,
            -1,
            "The store's ledger: what was stored per request id, and whether it went out.",
            compacted=True,
        ),
        TopicSpec(
            "stored", 4, records.FileStored, 30 * DAY_MS, "Terminal: where each result was written."
        ),
        TopicSpec(
            "failed",
            4,
            records.RequestFailed,
            30 * DAY_MS,
            "Terminal: requests that failed, and dead letters, with a clear reason.",
        ),
        # One partition: the reducer's windows are global, and one worker folds far more
        # events per second than the stages produce.
        TopicSpec(
            "metrics",
            1,
            records.MetricsEvent,
            7 * DAY_MS,
            "One event per stage per record handled.",
        ),
        TopicSpec(
            "intents",
            1,
            records.Intent,
            7 * DAY_MS,
            "What the metrics reducer asks the executor to do.",
            key_field="intent_id",
        ),
        TopicSpec(
            "metrics-recorded",
            1,
            records.MetricsRecorded,
            30 * DAY_MS,
            "A closed window's metrics were persisted.",
            key_field="intent_id",
        ),
        TopicSpec(
            "alerts",
            1,
            records.AlertRaised,
            30 * DAY_MS,
            "A window crossed a failure-rate or latency threshold.",
            key_field="intent_id",
        ),
    )
}

REPAIRS = "repairs"
"""Where validate and verify send stubs back to generate, with their findings."""


@dataclass(frozen=True)
class StageSpec:
    """Everything the project knows about a stage, in one place: the worker, the CLI, the
    supervisor, the benchmarks and the topic catalogue are derived from it.

    ``processor`` is ``"module:Class"``, imported when a worker builds it (the catalogue stays
    free of the stages' dependencies); ``concurrency_setting`` names the ``Settings`` field
    that bounds the records it handles at once. The stage's name is also its metrics label
    and its consumer group (with the topic prefix). ``summary`` is its row in the README's
    stage table; ``host_environment`` and ``sandboxed`` shape its service in
    ``docker-compose.yml`` (both rendered by ``codegen catalogue render``).
    """

    name: str
    input: str
    output: str
    processor: str
    extra_inputs: tuple[str, ...] = ()
    routed_outputs: tuple[str, ...] = ()
    concurrency_setting: str = "concurrency"
    ends_requests: bool = False
    """Its output is terminal: a request is done once its record reaches it."""
    summary: str = ""
    """What it does, in one line (Markdown)."""
    host_environment: tuple[str, ...] = ()
    """Settings its container takes from the host's environment (e.g. an endpoint's key)."""
    sandboxed: bool = False
    """It runs code in bubblewrap's namespaces, which a container must be allowed to create."""

    def concurrency(self, settings: Settings) -> int:
        return int(getattr(settings, self.concurrency_setting))

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input, *self.extra_inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every topic the stage's worker may produce to."""
        return (self.output, *self.routed_outputs, "failed", "metrics")

    def outcome(self, topic: str) -> str:
        """The metrics outcome of a record sent to ``topic`` (``redelivered``: none sent)."""
        if topic in ("failed", "redelivered"):
            return topic
        return "retry" if topic in self.routed_outputs else "ok"


STAGE_SPECS: dict[str, StageSpec] = {
    spec.name: spec
    for spec in (
        StageSpec(
            "extract",
            "requests",
            "stubs",
            "pipeline.processors.extract:ExtractProcessor",
            summary="finds the stubs with libcst: qualified name, exact signature, docstring, "
            "class context, imports",
        ),
        StageSpec(
            "generate",
            "stubs",
            "generated",
            "pipeline.processors.stages:GenerateProcessor",
            extra_inputs=(REPAIRS,),
            routed_outputs=(REPAIRS,),  # unusable replies are asked again
            concurrency_setting="generate_concurrency",
            summary="produces each body: bodies supplied with the request (`provided`), or an "
            "OpenAI-compatible endpoint",
            host_environment=("CODEGEN_OPENAI_BASE_URL", "CODEGEN_OPENAI_API_KEY"),
        ),
        StageSpec(
            "validate",
            "generated",
            "validated",
            "pipeline.processors.stages:ValidateProcessor",
            routed_outputs=(REPAIRS,),
            summary="static checks, never running the code: syntax, type hints, security "
            "(bandit), imports (ruff), house rules, types (ty)",
        ),
        StageSpec(
            "inject",
            "validated",
            "injected",
            "pipeline.processors.stages:InjectProcessor",
            summary="puts each body into the original module; every other byte stays as it "
            "was (libcst); imports the configured error class and log function for the bodies "
            "that use them",
        ),
        StageSpec(
            "verify",
            "injected",
            "verified",
            "pipeline.processors.stages:VerifyProcessor",
            routed_outputs=(REPAIRS,),
            concurrency_setting="verify_concurrency",
            summary="runs the request's tests against the filled module in a bubblewrap sandbox "
            "(or, without tests, imports it there); failures go back to generate",
            sandboxed=True,
        ),
        StageSpec(
            "store",
            "verified",
            "stored",
            "pipeline.processors.store:StoreProcessor",
            ends_requests=True,
            summary="writes the result under the store root, atomically, confined to the root, "
            "idempotent per request",
        ),
    )
}
"""The chain, in order: each stage consumes what the one before it produces."""

# Views of STAGE_SPECS for the code that only needs one field.
STAGE_INPUTS: dict[str, str] = {s.name: s.input for s in STAGE_SPECS.values()}
STAGE_OUTPUTS: dict[str, str] = {s.name: s.output for s in STAGE_SPECS.values()}
STAGE_ROUTED_OUTPUTS: dict[str, tuple[str, ...]] = {
    s.name: s.routed_outputs for s in STAGE_SPECS.values() if s.routed_outputs
}
STAGES: tuple[str, ...] = tuple(STAGE_SPECS)
SERVICE_WORKERS: tuple[str, ...] = ("metrics", "executor")
# Every kind of worker process: the stages, the metrics reducer and the intent executor.
WORKERS: tuple[str, ...] = (*STAGES, *SERVICE_WORKERS)


def stage_spec(name: str) -> StageSpec:
    """The stage called ``name``; a ValueError that lists the stages when there is none."""
    spec = STAGE_SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown stage {name!r}; stages: {', '.join(STAGE_SPECS)}")
    return spec


def worker_names() -> tuple[str, ...]:
    """Every kind of worker process, read when called (``WORKERS`` is the import-time view)."""
    return (*STAGE_SPECS, *SERVICE_WORKERS)


def topic_name(key: str, prefix: str) -> str:
    return TOPICS[key].name(prefix)


def catalogue_document(prefix: str = "codegen.") -> dict[str, Any]:
    return {
        "prefix": prefix,
        "encoding": "UTF-8 JSON, no envelope; the key is the UTF-8 request id",
        "topics": [spec.describe(prefix) for spec in TOPICS.values()],
        "stages": [
            {"stage": s.name, "input": s.input, "output": s.output} for s in STAGE_SPECS.values()
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
