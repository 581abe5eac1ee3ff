"""Configuration: environment variables with the ``CODEGEN_`` prefix (and ``.env``)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OverwritePolicy(StrEnum):
    ERROR = "error"
    OVERWRITE = "overwrite"
    KEEP_BOTH = "keep-both"


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
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None

    # Local broker
    broker_dir: Path = Field(default=Path(".kafka"), description="Jars, data and logs.")
    broker_port: int = 9092
    controller_port: int = 9093
    broker_heap: str = "512m"

    # Stages
    store_root: Path = Path("output")
    store_permissions: int = 0o644
    overwrite_policy: OverwritePolicy = OverwritePolicy.OVERWRITE
    max_source_bytes: int = 1024 * 1024
    stub_markers: list[str] = Field(default_factory=lambda: list(DEFAULT_STUB_MARKERS))
    skip_bodiless: bool = True
    error_class: str = "ModelOnexError"
    log_function: str = "emit_log_event"

    # Workers
    worker_log_level: str = "warning"
    processing_retries: int = 3

    @property
    def local_bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def effective_bootstrap(self) -> str:
        return self.bootstrap_servers or self.local_bootstrap

    @property
    def uses_local_broker(self) -> bool:
        return self.bootstrap_servers is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
