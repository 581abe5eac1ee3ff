"""The openai backend's settings and configuration."""

from __future__ import annotations

import pytest

from pipeline.settings import Settings
from pipeline.stages.generate import GenerateError
from pipeline.stages.generate.openai import OpenAIConfig, OpenAIGenerator

from .helpers import API_KEY


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEGEN_OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("CODEGEN_OPENAI_MODEL", "qwen2.5-coder:7b")
    monkeypatch.setenv("CODEGEN_OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("CODEGEN_OPENAI_PRICES", '{"gpt-4o-mini": [0.00015, 0.0006]}')
    monkeypatch.setenv("CODEGEN_OPENAI_EXTRA_BODY", '{"seed": 1, "max_tokens": null}')
    monkeypatch.setenv("CODEGEN_OPENAI_MAX_CONCURRENCY", "32")
    monkeypatch.setenv("CODEGEN_OPENAI_BREAKER_RESET", "2.5")
    settings = Settings(_env_file=None)
    config = OpenAIConfig.from_settings(settings)
    assert config.base_url == "http://127.0.0.1:11434/v1"
    assert config.model == "qwen2.5-coder:7b"
    assert config.api_key is not None and config.api_key.get_secret_value() == API_KEY
    assert config.prices == {"gpt-4o-mini": (0.00015, 0.0006)}
    assert config.extra_body == {"seed": 1, "max_tokens": None}
    assert (config.max_concurrency, config.breaker_reset) == (32, 2.5)
    assert (config.retry_attempts, config.breaker_threshold) == (4, 5)
    for shown in (repr(settings), str(settings), repr(config), settings.model_dump_json()):
        assert API_KEY not in shown


def test_the_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.openai_max_concurrency == 16
    assert settings.openai_retry_attempts == 4
    assert settings.openai_breaker_threshold == 5
    assert settings.openai_breaker_reset == 30.0


async def test_from_settings_uses_the_house_rules() -> None:
    settings = Settings(_env_file=None, error_class="AppError", log_function="log_it")
    generator = OpenAIGenerator.from_settings(settings)
    assert generator.name == "openai"
    assert (generator.rules.error_class, generator.rules.log_function) == ("AppError", "log_it")
    assert len(generator.client.http_clients) == 1
    await generator.aclose()


@pytest.mark.parametrize("url", ["localhost:8000/v1", "ftp://host/v1", "", "http://[::1"])
def test_a_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(GenerateError) as caught:
        OpenAIConfig(base_url=url)
    assert caught.value.code == "LLM_BAD_CONFIG"


def test_the_endpoint_hides_credentials() -> None:
    config = OpenAIConfig(base_url="https://user:hunter2@llm.example/v1/?key=hunter2")
    assert config.endpoint == "https://llm.example/v1"
    assert config.completions_url == (
        "https://user:hunter2@llm.example/v1/chat/completions?key=hunter2"
    )
    assert OpenAIConfig(base_url="http://h:1").completions_url == "http://h:1/chat/completions"
    assert "hunter2" not in repr(OpenAIGenerator(config))


def test_prices_by_exact_name_then_longest_prefix() -> None:
    config = OpenAIConfig(prices={"gpt-4o": (1.0, 1.0), "gpt-4o-mini": (2.0, 2.0)})
    assert config.price("gpt-4o-mini") == (2.0, 2.0)
    assert config.price("gpt-4o-mini-2024-07-18") == (2.0, 2.0)
    assert config.price("gpt-4o-2024-08-06") == (1.0, 1.0)
    assert config.price("unknown", None) is None
    assert config.price(None, "gpt-4o") == (1.0, 1.0)
