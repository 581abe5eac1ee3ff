"""Client options shared by every Kafka client the project makes (aiokafka and Faust)."""

from __future__ import annotations

import ssl
from typing import Any

from pipeline.settings import Settings

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

DURABLE_PRODUCER_OPTIONS: dict[str, Any] = {"acks": "all", "enable_idempotence": True}
"""What every producer of the project asks for: each in-sync replica has the record before it
counts as sent, and a retried batch is never written twice."""


class ClusterUnavailableError(RuntimeError):
    """The Kafka cluster cannot be reached or does not take a record in time; the message
    names the broker and the problem."""


class SecurityConfigError(ValueError):
    """The security settings cannot work together; the message names the setting."""


def check_security(settings: Settings) -> None:
    protocol = settings.security_protocol
    if protocol.startswith("SASL_"):
        if settings.sasl_mechanism not in SASL_MECHANISMS:
            raise SecurityConfigError(
                f"CODEGEN_SASL_MECHANISM={settings.sasl_mechanism} is not one of "
                f"{', '.join(SASL_MECHANISMS)} (needed with CODEGEN_SECURITY_PROTOCOL={protocol})"
            )
        if not settings.sasl_username or settings.sasl_password is None:
            raise SecurityConfigError(
                f"CODEGEN_SECURITY_PROTOCOL={protocol} needs CODEGEN_SASL_USERNAME and "
                "CODEGEN_SASL_PASSWORD"
            )
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise SecurityConfigError(f"CODEGEN_{name.upper()}={path} is not a readable file")
    if (settings.ssl_certfile is None) != (settings.ssl_keyfile is None):
        raise SecurityConfigError(
            "mutual TLS needs both CODEGEN_SSL_CERTFILE and CODEGEN_SSL_KEYFILE"
        )


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Bootstrap and security options for aiokafka clients; secrets never logged."""
    check_security(settings)
    options: dict[str, Any] = {
        "bootstrap_servers": settings.effective_bootstrap,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context_for(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.sasl_mechanism and settings.security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


def ssl_context_for(settings: Settings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
    if settings.ssl_certfile is not None:
        context.load_cert_chain(
            str(settings.ssl_certfile),
            str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
        )
    return context
