"""Brokers that take only SASL (SCRAM-SHA-512 or PLAIN) over TLS with a throwaway CA, only
SASL/SCRAM-SHA-256 without TLS, or only TLS with a client certificate (mutual TLS).

On each, every worker, the admin and the client connect with the security settings and both
examples are stored; a wrong password, an unknown mechanism or an untrusted certificate ends a
command within seconds with one line that says what failed against which broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.broker.admin import ensure_topics
from pipeline.broker.local import ClientListener, LocalBroker, free_port
from pipeline.client import ClusterUnavailableError, PipelineClient, build_request
from pipeline.records import FileStored
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, ROOT, expected_source
from tests.support.tls import make_broker_tls, make_ca, make_client_cert

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

USER, PASSWORD = "pipeline", "scram-secret-42"


def running_broker(directory: Path, listener: ClientListener) -> Iterator[LocalBroker]:
    broker = LocalBroker(
        directory,
        port=free_port(),
        controller_port=free_port(),
        heap="384m",
        jars_dir=ROOT / ".kafka" / "libs",
        listener=listener,
    )
    try:
        broker.start(timeout=180)
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    directory = tmp_path_factory.mktemp("secured")
    tls = make_broker_tls(directory / "tls")
    listener = ClientListener(
        protocol="SASL_SSL",
        scram_users=((USER, PASSWORD),),
        plain_users=((USER, PASSWORD),),
        keystore=tls.keystore,
        keystore_password=tls.password,
        truststore=tls.truststore,
        cafile=tls.cafile,
    )
    yield from running_broker(directory / "kafka", listener)


@pytest.fixture
def secured_settings(
    secured_broker: LocalBroker, settings_factory: Callable[..., Settings]
) -> Settings:
    return settings_factory(
        bootstrap_servers=secured_broker.bootstrap, **secured_broker.listener.settings()
    )


# Each working configuration of the README's security section, through all seven workers:
# the broker fixture and what the settings change from its listener's.
SECURED_BROKERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sasl-ssl-scram-sha-512": ("secured_broker", {}),
    "sasl-ssl-plain": ("secured_broker", {"sasl_mechanism": "PLAIN"}),
    "sasl-plaintext-scram-sha-256": ("sasl_plaintext_broker", {}),
    "mutual-tls": ("mutual_tls_broker", {}),
}


@pytest.fixture(params=list(SECURED_BROKERS))
def configured_settings(
    request: pytest.FixtureRequest, settings_factory: Callable[..., Settings]
) -> Settings:
    """Settings of one configuration, on its broker (started here, outside the test's loop)."""
    fixture, overrides = SECURED_BROKERS[request.param]
    broker: LocalBroker = request.getfixturevalue(fixture)
    return settings_factory(
        bootstrap_servers=broker.bootstrap, **{**broker.listener.settings(), **overrides}
    )


async def test_the_examples_go_through_every_worker(
    configured_settings: Settings,
    request: pytest.FixtureRequest,
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    settings = configured_settings
    await ensure_topics(settings)
    client: PipelineClient = await client_factory(settings)
    started = time.monotonic()
    workers_factory(settings)
    generations = [
        build_request(module, output_path=f"secured/{module.name}")
        for module in sorted(EXAMPLES.glob("*.py"))
    ]
    for generation in generations:
        await client.submit(generation)
    ids = [generation.request_id for generation in generations]
    results = {r.request_id: r async for r in client.results(ids, timeout=240)}
    configuration = request.node.callspec.params["configured_settings"]
    print(f"{configuration}: {len(results)} stored in {time.monotonic() - started:.0f} s")
    for generation in generations:
        result = results[generation.request_id]
        assert isinstance(result, FileStored), result
        stored = (settings.store_root / generation.output_path).read_text(encoding="utf-8")
        assert stored == expected_source(generation)


def codegen(settings: Settings, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEGEN_", "KAFKA_"))}
    env.update(settings.environment("bootstrap_servers", "topic_prefix", "security_protocol",
                                    "sasl_mechanism", "sasl_username", "sasl_password",
                                    "ssl_cafile"))  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    return done, time.monotonic() - started


WRONG = {
    "a wrong password": (
        {"sasl_password": SecretStr("not-the-password")},
        "refused the SASL credentials",
    ),
    "a mechanism the broker does not enable": (
        {"sasl_mechanism": "SCRAM-SHA-256"},
        "does not enable SASL mechanism SCRAM-SHA-256",
    ),
    "an unknown mechanism": ({"sasl_mechanism": "SCRAM-SHA-1"}, "is not one of"),
    "an untrusted certificate": ({"ssl_cafile": "other-ca"}, "is not trusted"),
}


@pytest.mark.parametrize("case", list(WRONG))
@pytest.mark.parametrize("command", ["topics create", "submit", "worker extract"])
def test_wrong_security_settings_fail_in_seconds_with_one_line(
    secured_settings: Settings, tmp_path: Path, case: str, command: str
) -> None:
    overrides, expected = WRONG[case]
    if overrides.get("ssl_cafile") == "other-ca":
        overrides = {"ssl_cafile": make_ca(tmp_path / "other", "other")}
    settings = secured_settings.model_copy(update=overrides)
    arguments = command.split()
    if command == "submit":
        arguments.append(str(EXAMPLES / "inventory.py"))
    done, elapsed = codegen(settings, *arguments)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0
    assert elapsed < 30, f"took {elapsed:.0f} s"
    assert len(lines) == 1, done.stderr
    assert expected in lines[0], lines[0]
    if case != "an unknown mechanism":  # a setting that cannot work: no broker asked
        assert settings.effective_bootstrap in lines[0], lines[0]


async def test_the_client_names_refused_credentials_and_leaves_nothing_open(
    secured_settings: Settings,
) -> None:
    wrong = secured_settings.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    client = PipelineClient(wrong)
    started = time.monotonic()
    with pytest.raises(ClusterUnavailableError, match="refused the SASL credentials of user"):
        await client.start()
    assert time.monotonic() - started < 15
    await client.stop()  # idempotent after a failed start


@pytest.fixture(scope="module")
def mutual_tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """TLS only, and every client must show a certificate the CA signed."""
    directory = tmp_path_factory.mktemp("mtls")
    tls = make_broker_tls(directory / "tls")
    listener = ClientListener(
        protocol="SSL",
        keystore=tls.keystore,
        keystore_password=tls.password,
        truststore=tls.truststore,
        cafile=tls.cafile,
        client_auth=True,
        client_cert=make_client_cert(directory / "tls"),
    )
    yield from running_broker(directory / "kafka", listener)


async def test_mutual_tls_with_a_client_certificate_and_without(
    mutual_tls_broker: LocalBroker, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(
        bootstrap_servers=mutual_tls_broker.bootstrap, **mutual_tls_broker.listener.settings()
    )
    await ensure_topics(settings)
    async with PipelineClient(settings) as client:
        request = build_request(EXAMPLES / "inventory.py", output_path="mtls/inventory.py")
        assert await client.submit(request) == request.request_id
    anonymous = settings.model_copy(update={"ssl_certfile": None, "ssl_keyfile": None})
    done, elapsed = codegen(anonymous, "topics", "create")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and elapsed < 30
    assert len(lines) == 1 and "a client certificate (CODEGEN_SSL_CERTFILE" in lines[0], lines
    assert mutual_tls_broker.bootstrap in lines[0]


@pytest.fixture(scope="module")
def sasl_plaintext_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """SASL/SCRAM-SHA-256 without TLS."""
    listener = ClientListener(
        protocol="SASL_PLAINTEXT", scram_users=((USER, PASSWORD),), mechanism="SCRAM-SHA-256"
    )
    yield from running_broker(tmp_path_factory.mktemp("sasl-plain") / "kafka", listener)


async def test_sasl_plaintext_with_scram_sha_256(
    sasl_plaintext_broker: LocalBroker, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(
        bootstrap_servers=sasl_plaintext_broker.bootstrap,
        **sasl_plaintext_broker.listener.settings(),
    )
    done, _ = codegen(settings, "topics", "create")
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout, done.stdout
    async with PipelineClient(settings) as client:
        request = build_request(EXAMPLES / "inventory.py", output_path="plain/inventory.py")
        assert await client.submit(request) == request.request_id
    wrong = settings.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    done, elapsed = codegen(wrong, "topics", "create")
    assert done.returncode != 0 and elapsed < 30
    assert "refused the SASL credentials of user pipeline (SCRAM-SHA-256)" in done.stderr
