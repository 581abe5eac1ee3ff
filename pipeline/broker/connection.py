"""Client options shared by every Kafka client the project makes (aiokafka and Faust)."""

from __future__ import annotations

import ssl
from typing import Any

from pipeline.settings import Settings


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Bootstrap and security options for aiokafka clients; secrets never logged."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.effective_bootstrap,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context_for(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


def ssl_context_for(settings: Settings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
