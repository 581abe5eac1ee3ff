"""Does the cluster answer, with the configured security? A real metadata request, not just an
open port, and when it fails, one line that says why and against which broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka import errors
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn

from pipeline.broker.connection import SecurityConfigError, aiokafka_options
from pipeline.settings import Settings


@dataclass(frozen=True)
class Probe:
    """``brokers`` answering, or ``problem``; a ``fatal`` problem (credentials, certificate,
    configuration) will not go away by waiting."""

    brokers: int = 0
    problem: str | None = None
    fatal: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None and self.brokers > 0


@contextlib.contextmanager
def quiet_aiokafka() -> Iterator[None]:
    """aiokafka logs every failed bootstrap attempt at ERROR; the probe reports it once."""
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        quiet.setLevel(level)


async def count_brokers(options: dict[str, Any], timeout: float) -> int:
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
        return len(cluster["brokers"])
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _host_port(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    return host.strip("[]"), int(port)


def describe_failure(error: BaseException, server: str, settings: Settings) -> Probe:
    """One line for a failed connection to ``server``; fatal when retrying cannot help."""
    user = settings.sasl_username or "(none)"
    mechanism = settings.sasl_mechanism
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = getattr(error, "verify_message", None) or getattr(error, "reason", None) or error
        return Probe(
            problem=f"the TLS certificate of the broker at {server} is not trusted: {reason} "
            "(CODEGEN_SSL_CAFILE names the CA that signed it)",
            fatal=True,
        )
    if isinstance(error, ssl.SSLError):
        reason = getattr(error, "reason", None) or error
        return Probe(
            problem=f"the TLS handshake with the broker at {server} failed: {reason} (does it "
            f"listen with TLS? CODEGEN_SECURITY_PROTOCOL is {settings.security_protocol})",
            fatal=True,
        )
    if isinstance(error, errors.UnsupportedSaslMechanismError):
        offered = str(error) if "Enabled mechanisms" in str(error) else ""
        return Probe(
            problem=f"the broker at {server} does not enable SASL mechanism {mechanism} "
            f"(CODEGEN_SASL_MECHANISM) {offered}".strip(),
            fatal=True,
        )
    if isinstance(error, errors.KafkaError) and "SaslAuthentication" in type(error).__name__:
        return Probe(
            problem=f"the broker at {server} refused the SASL credentials of user {user} "
            f"({mechanism}): {error}",
            fatal=True,
        )
    if isinstance(error, errors.IllegalSaslStateError | errors.AuthenticationFailedError):
        return Probe(
            problem=f"authentication with the broker at {server} failed for user {user} "
            f"({mechanism}): {error}",
            fatal=True,
        )
    if isinstance(error, errors.KafkaConnectionError | asyncio.IncompleteReadError):
        protocol = settings.security_protocol
        certificate = (
            "a client certificate (CODEGEN_SSL_CERTFILE, CODEGEN_SSL_KEYFILE) or "
            if protocol.endswith("SSL") and settings.ssl_certfile is None
            else ""
        )
        return Probe(
            problem=f"the broker at {server} closed the connection: {error} (does it expect "
            f"{certificate}another protocol than CODEGEN_SECURITY_PROTOCOL={protocol}?)"
        )
    reason = str(error) or type(error).__name__
    return Probe(problem=f"no Kafka broker answers at {server}: {reason}")


async def _connect(server: str, options: dict[str, Any], timeout: float) -> None:
    """One authenticated connection to ``server``, closed again: what a client does first."""
    host, port = _host_port(server)
    connection_options = {
        key: value
        for key, value in options.items()
        if key
        in (
            "ssl_context",
            "security_protocol",
            "sasl_mechanism",
            "sasl_plain_username",
            "sasl_plain_password",
        )
    }
    connection = await asyncio.wait_for(
        create_conn(host, port, request_timeout_ms=int(timeout * 1000), **connection_options),
        timeout,
    )
    connection.close()


async def probe_async(settings: Settings, *, timeout: float = 5.0) -> Probe:
    """Connect to the bootstrap servers as every client of the project does."""
    try:
        options = aiokafka_options(settings)
    except SecurityConfigError as error:
        return Probe(problem=str(error), fatal=True)
    servers = [s for s in settings.effective_bootstrap.split(",") if s.strip()]
    failures: list[Probe] = []
    with quiet_aiokafka():
        for server in servers:
            try:
                await _connect(server.strip(), options, timeout)
            except TimeoutError:
                failures.append(
                    Probe(problem=f"the broker at {server} did not answer in {timeout:g} s")
                )
                continue
            except Exception as error:
                failure = describe_failure(error, server.strip(), settings)
                if failure.fatal:
                    return failure
                failures.append(failure)
                continue
            try:
                return Probe(brokers=await count_brokers(options, timeout))
            except Exception as error:
                failures.append(
                    Probe(
                        problem=f"the cluster at {settings.effective_bootstrap} does not "
                        f"answer metadata requests: {error or type(error).__name__}"
                    )
                )
    return failures[0] if failures else Probe(problem="no bootstrap servers are configured")


def probe(settings: Settings, *, timeout: float = 5.0) -> Probe:
    return asyncio.run(probe_async(settings, timeout=timeout))


def brokers_seen(
    bootstrap: str, options: dict[str, Any] | None = None, *, timeout: float = 2.0
) -> int:
    """How many brokers the cluster at ``bootstrap`` reports (0: it does not answer)."""
    with quiet_aiokafka():
        try:
            return asyncio.run(
                count_brokers({"bootstrap_servers": bootstrap, **(options or {})}, timeout)
            )
        except Exception:
            return 0


def broker_answers(bootstrap: str, *, timeout: float = 2.0) -> bool:
    return brokers_seen(bootstrap, timeout=timeout) > 0
