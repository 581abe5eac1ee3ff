"""API keys and SASL passwords stay secret: not in logs, reprs, dumps nor records.

And the security settings reach the Kafka clients: aiokafka options and Faust credentials.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaProducer
from faust.types.auth import AuthProtocol, SASLMechanism

from pipeline.broker.connection import SecurityConfigError, aiokafka_options
from pipeline.client import build_request
from pipeline.processors import build_processor
from pipeline.records import GenerationRequest, RequestFailed, decode, encode
from pipeline.settings import Settings
from pipeline.stages.generate import OpenAIGenerator
from pipeline.workers.faust_app import faust_options
from pipeline.workers.runner import StageRunner
from pipeline.workers.stage_app import create_stage_app
from tests.fixtures import EXAMPLES
from tests.support.llm_fixtures import LLMServerFactory
from tests.support.llm_server import error, free_port

API_KEY = "sk-test-9f8e7d6c5b4a-DO-NOT-LEAK"
SASL_PASSWORD = "sasl-pw-31415926-DO-NOT-LEAK"
URL_PASSWORD = "url-pw-27182818-DO-NOT-LEAK"
SECRETS = (API_KEY, SASL_PASSWORD, URL_PASSWORD)

SECURE_ENV = {
    "CODEGEN_OPENAI_API_KEY": API_KEY,
    "CODEGEN_SASL_PASSWORD": SASL_PASSWORD,
    "CODEGEN_SASL_USERNAME": "pipeline",
    "CODEGEN_SASL_MECHANISM": "SCRAM-SHA-512",
    "CODEGEN_SECURITY_PROTOCOL": "SASL_SSL",
    "CODEGEN_BOOTSTRAP_SERVERS": "kafka-1.example:9093,kafka-2.example:9093",
}


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into {where}"


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert_no_secret(caplog.text, "the log text")
    for record in caplog.records:
        assert_no_secret(record.getMessage(), f"the log record of {record.name}")
        assert_no_secret(repr(record.args), f"the log arguments of {record.name}")
        if record.exc_text:
            assert_no_secret(record.exc_text, f"the logged traceback of {record.name}")


@pytest.fixture
def secure_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name, value in SECURE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CODEGEN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    yield


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


# -- settings --------------------------------------------------------------------------------


def test_settings_read_the_secrets_without_logging_them(
    secure_env: None, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = Settings()
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == API_KEY
    assert settings.sasl_password is not None
    assert settings.sasl_password.get_secret_value() == SASL_PASSWORD
    assert_logs_clean(debug_logs)


def test_settings_never_show_the_secrets(secure_env: None) -> None:
    settings = Settings()
    for text, where in [
        (repr(settings), "repr"),
        (str(settings), "str"),
        (f"{settings}", "format"),
        (settings.model_dump_json(), "model_dump_json"),
        (settings.model_dump_json(indent=2), "indented model_dump_json"),
        (str(settings.model_dump()), "model_dump"),
        (str(settings.model_dump(mode="json")), "model_dump(mode='json')"),
        (repr(settings.openai_api_key), "repr of the key"),
        (str(settings.sasl_password), "str of the password"),
    ]:
        assert_no_secret(text, where)
    assert "**********" in settings.model_dump_json()


def test_secrets_given_as_arguments_are_hidden_too() -> None:
    settings = Settings(openai_api_key=API_KEY, sasl_password=SASL_PASSWORD)  # type: ignore[arg-type]
    assert_no_secret(repr(settings) + settings.model_dump_json(), "Settings built in code")


# -- the openai generator --------------------------------------------------------------------


async def test_building_the_openai_generator_logs_no_key(
    secure_env: None, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = Settings(openai_base_url=f"http://user:{URL_PASSWORD}@127.0.0.1:9/v1")
    generator = OpenAIGenerator.from_settings(settings)
    try:
        for text, where in [
            (repr(generator), "the generator's repr"),
            (str(generator), "the generator's str"),
            (repr(generator.client), "the HTTP client's repr"),
            (repr(generator.config), "the config's repr"),
            (generator.config.endpoint, "the endpoint shown in messages"),
        ]:
            assert_no_secret(text, where)
        assert generator.config.api_key is not None
        assert generator.config.api_key.get_secret_value() == API_KEY
    finally:
        await generator.aclose()
    assert_logs_clean(debug_logs)


def openai_stubs_record(settings: Settings) -> bytes:
    """The `stubs` record of the inventory example, asking for the openai generator."""
    request = build_request(EXAMPLES / "inventory.py", generator="openai")
    request = request.model_copy(update={"request_id": "secret-1", "bodies": {}})
    assert isinstance(request, GenerationRequest)
    return encode(request)


async def stubs_for(settings: Settings) -> bytes:
    extract = StageRunner(build_processor("extract", settings), settings)
    out = await extract.handle(b"secret-1", openai_stubs_record(settings), "requests[0]@0")
    assert out[0].topic == "stubs"
    return out[0].value


def openai_settings(base_url: str, tmp_path: Path) -> Settings:
    return Settings(
        openai_base_url=base_url,
        openai_api_key=API_KEY,  # type: ignore[arg-type]
        sasl_password=SASL_PASSWORD,  # type: ignore[arg-type]
        openai_retry_attempts=2,
        openai_retry_initial_wait=0.0,
        openai_retry_max_wait=0.0,
        openai_breaker_threshold=100,
        openai_timeout=5.0,
        processing_retries=1,
        store_root=tmp_path / "store",
        state_dir=tmp_path / "state",
    )


async def test_a_generation_failing_on_a_closed_port_keeps_the_key_out_of_the_records(
    tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    base_url = f"http://user:{URL_PASSWORD}@127.0.0.1:{free_port()}/v1"
    settings = openai_settings(base_url, tmp_path)
    generate = StageRunner(build_processor("generate", settings), settings)
    try:
        out = await generate.handle(b"secret-1", await stubs_for(settings), "stubs[0]@0")
    finally:
        await generate.processor.aclose()

    assert [o.topic for o in out] == ["failed", "metrics"]
    failed = decode(RequestFailed, out[0].value)
    assert (failed.stage, failed.error_code) == ("generate", "LLM_UNAVAILABLE"), failed.message
    assert "127.0.0.1" in failed.message
    for outgoing in out:
        assert_no_secret(outgoing.key.decode() + outgoing.value.decode(), outgoing.topic)
    assert_logs_clean(debug_logs)


async def test_a_server_echoing_the_key_in_its_error_is_redacted(
    tmp_path: Path, llm_server: LLMServerFactory, debug_logs: pytest.LogCaptureFixture
) -> None:
    server = await llm_server(default=error(401, f"Incorrect API key provided: {API_KEY}"))
    settings = openai_settings(server.base_url, tmp_path)
    generate = StageRunner(build_processor("generate", settings), settings)
    try:
        out = await generate.handle(b"secret-1", await stubs_for(settings), "stubs[0]@0")
    finally:
        await generate.processor.aclose()

    assert server.completion_requests, "the generator called the server"
    sent = server.completion_requests[0].headers
    assert sent.get("Authorization") == f"Bearer {API_KEY}"  # sent, as it must be
    failed = decode(RequestFailed, out[0].value)
    assert failed.error_code == "LLM_REQUEST_REJECTED", failed.message
    assert "Incorrect API key provided: ***" in failed.message
    for outgoing in out:
        assert_no_secret(outgoing.value.decode(), outgoing.topic)
    assert_logs_clean(debug_logs)


# -- Kafka client options --------------------------------------------------------------------


def sasl_settings(protocol: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bootstrap_servers": "kafka-1.example:9093,kafka-2.example:9093",
        "security_protocol": protocol,
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_username": "pipeline",
        "sasl_password": SASL_PASSWORD,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_settings_become_aiokafka_options(
    protocol: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    options = aiokafka_options(sasl_settings(protocol))
    assert options["bootstrap_servers"] == "kafka-1.example:9093,kafka-2.example:9093"
    assert options["security_protocol"] == protocol
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "pipeline"
    assert options["sasl_plain_password"] == SASL_PASSWORD  # aiokafka needs the plain text
    if protocol == "SASL_SSL":
        assert isinstance(options["ssl_context"], ssl.SSLContext)
        assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    else:
        assert "ssl_context" not in options
    assert_logs_clean(debug_logs)


def test_ssl_settings_create_an_ssl_context_without_sasl() -> None:
    options = aiokafka_options(Settings(bootstrap_servers="k:9093", security_protocol="SSL"))
    assert options["security_protocol"] == "SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert not any(name.startswith("sasl_") for name in options)


def test_the_ssl_context_trusts_the_configured_ca_file(tmp_path: Path) -> None:
    cafile = tmp_path / "missing-ca.pem"
    with pytest.raises(SecurityConfigError, match=r"CODEGEN_SSL_CAFILE=.* is not a readable file"):
        aiokafka_options(Settings(security_protocol="SSL", ssl_cafile=cafile))


def test_plaintext_has_neither_ssl_nor_sasl() -> None:
    options = aiokafka_options(Settings(bootstrap_servers="k:9092"))
    assert options == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}


async def test_an_aiokafka_client_built_from_the_options_logs_no_password(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(sasl_settings("SASL_SSL")))
    assert producer.client._sasl_plain_password == SASL_PASSWORD
    assert producer.client._security_protocol == "SASL_SSL"
    assert_logs_clean(debug_logs)


@pytest.mark.parametrize(
    ("protocol", "auth"), [("SASL_SSL", AuthProtocol.SASL_SSL), ("SASL_PLAINTEXT", None)]
)
def test_sasl_settings_become_faust_credentials(
    protocol: str, auth: AuthProtocol | None, debug_logs: pytest.LogCaptureFixture
) -> None:
    options = faust_options(sasl_settings(protocol))
    assert options["broker"] == ["kafka://kafka-1.example:9093", "kafka://kafka-2.example:9093"]
    credentials = options["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "pipeline"
    assert credentials.password == SASL_PASSWORD
    assert credentials.mechanism == SASLMechanism.SCRAM_SHA_256
    if auth is AuthProtocol.SASL_SSL:
        assert credentials.protocol == AuthProtocol.SASL_SSL
        assert isinstance(credentials.ssl_context, ssl.SSLContext)
    else:
        assert credentials.protocol == AuthProtocol.SASL_PLAINTEXT
        assert credentials.ssl_context is None
    assert_no_secret(repr(credentials) + str(credentials), "the Faust credentials' repr")
    assert_logs_clean(debug_logs)


def test_ssl_settings_become_faust_ssl_credentials() -> None:
    options = faust_options(Settings(bootstrap_servers="k:9093", security_protocol="SSL"))
    credentials = options["broker_credentials"]
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol == AuthProtocol.SSL
    assert isinstance(credentials.context, ssl.SSLContext)


def test_plaintext_faust_options_carry_no_credentials() -> None:
    assert "broker_credentials" not in faust_options(Settings(bootstrap_servers="k:9092"))


def test_a_stage_app_built_with_secrets_logs_none(
    secure_env: None, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    settings = Settings(store_root=tmp_path / "store")
    app = create_stage_app("generate", settings)
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.password == SASL_PASSWORD
    assert_no_secret(repr(app) + repr(app.conf), "the Faust app's repr")
    assert_logs_clean(debug_logs)
