"""A module with stubs, and settings pointing at a scripted server."""

from __future__ import annotations

from typing import Any

from pipeline.models import ExtractionResult
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.stages.generate import GenerationTask
from pipeline.stages.generate.openai import OpenAIGenerator
from tests.support.llm_server import LLMServer

API_KEY = "sk-test-SECRET-4f9c2e7a1b"

SOURCE = '''\
"""Shopping carts."""

from decimal import Decimal
import logging

from shop.errors import ModelOnexError


class Cart(BaseCart):
    """A customer's cart: items and their quantities."""

    def add(self, sku: str, quantity: int = 1) -> None:
        self.items[sku] = self.items.get(sku, 0) + quantity

    def total(self, prices: dict[str, Decimal]) -> Decimal:
        """The price of every item times its quantity.

        Raise ModelOnexError for an item without a price.
        """
        ...

    async def checkout(self, gateway: "Gateway") -> str:
        """Charge the total through the gateway; return the receipt id."""
        raise NotImplementedError


def slugify(text: str) -> str:
    """Lower-case ``text`` and join its words with dashes."""
    ...
'''


def extraction() -> ExtractionResult:
    return extract_stubs(SOURCE)


def task(**kwargs: Any) -> GenerationTask:
    return GenerationTask(extraction=extraction(), **kwargs)


def settings(server: LLMServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_base_url": server.base_url,
        "openai_model": "test-model",
        "openai_api_key": API_KEY,
        "openai_timeout": 5.0,
        "openai_retry_initial_wait": 0.01,
        "openai_retry_max_wait": 0.05,
        "openai_breaker_reset": 30.0,
        "openai_breaker_hold": 0.0,  # fail fast on an open circuit, unless a test says so
        "openai_prices": {},
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class RecordingSleep:
    """An injected sleep that records the waits and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def generator(
    server: LLMServer, *, sleep: Any = None, clock: Any = None, **overrides: Any
) -> OpenAIGenerator:
    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    if clock is not None:
        kwargs["clock"] = clock
    return OpenAIGenerator.from_settings(settings(server, **overrides), **kwargs)
