"""``Settings.environment``: what a worker process is given reads back as the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import DEPLOYMENT_SETTINGS, Settings


def test_the_environment_reads_back_as_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        _env_file=None,
        bootstrap_servers="127.0.0.1:19092",
        topic_prefix="t.",
        store_root=tmp_path / "store",
        state_dir=tmp_path / "state",
        metrics_dir=tmp_path / "metrics",
        metrics_web_port=6123,
        openai_api_key="sk-test",
        max_attempts=5,
    )
    env = settings.environment(*DEPLOYMENT_SETTINGS, "openai_api_key", "max_attempts")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    child = Settings(_env_file=None)
    for name in (*DEPLOYMENT_SETTINGS, "max_attempts"):
        assert getattr(child, name) == getattr(settings, name), name
    assert child.openai_api_key is not None
    assert child.openai_api_key.get_secret_value() == "sk-test"


def test_bootstrap_servers_is_the_broker_used() -> None:
    settings = Settings(_env_file=None, bootstrap_servers=None, broker_port=29092)
    assert settings.environment("bootstrap_servers") == {
        "CODEGEN_BOOTSTRAP_SERVERS": "127.0.0.1:29092"
    }
