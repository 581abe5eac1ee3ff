"""The broker check and the client say in one line why the cluster cannot be used."""

from __future__ import annotations

import gc
import ssl
import time
import warnings

import pytest
from aiokafka import errors
from pydantic import SecretStr

from pipeline.broker.local import free_port
from pipeline.broker.probe import describe_failure, probe_async
from pipeline.client import ClusterUnavailableError, PipelineClient
from pipeline.settings import Settings

SERVER = "k1.example:9093"


def sasl_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bootstrap_servers": SERVER,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "pipeline",
        "sasl_password": SecretStr("secret"),
    }
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errors.SaslAuthenticationFailed("invalid credentials"), "refused the SASL credentials"),
        (errors.UnsupportedSaslMechanismError("x"), "does not enable SASL mechanism"),
        (ssl.SSLCertVerificationError(1, "self-signed certificate"), "is not trusted"),
    ],
)
def test_credentials_and_certificates_are_fatal_and_named(
    error: BaseException, expected: str
) -> None:
    found = describe_failure(error, SERVER, sasl_settings())
    assert found.fatal
    assert found.problem is not None and expected in found.problem and SERVER in found.problem
    assert "secret" not in found.problem


def test_a_refused_connection_is_worth_waiting_for() -> None:
    found = describe_failure(ConnectionRefusedError(111, "refused"), SERVER, sasl_settings())
    assert not found.fatal and found.problem is not None and SERVER in found.problem


async def test_an_unknown_mechanism_is_named_without_asking_a_broker() -> None:
    found = await probe_async(sasl_settings(sasl_mechanism="KERBEROS5"))
    assert found.fatal and found.problem is not None
    assert "CODEGEN_SASL_MECHANISM=KERBEROS5 is not one of" in found.problem


async def test_the_client_fails_fast_names_the_broker_and_leaves_nothing_open() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    client = PipelineClient(Settings(_env_file=None, bootstrap_servers=bootstrap, broker_timeout=5))
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(
            ClusterUnavailableError, match=f"no Kafka broker answers at {bootstrap}"
        ):
            await client.start()
        del client
        gc.collect()
    assert time.monotonic() - started < 10
    assert not [w for w in caught if "Unclosed" in str(w.message)], [str(w.message) for w in caught]
