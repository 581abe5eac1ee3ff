"""A small inventory service whose methods are stubs waiting for generated code."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

logger = logging.getLogger(__name__)


class ModelOnexError(Exception):
    """The error every service of this code base raises."""


def emit_log_event(level: int, message: str, **context: object) -> None:
    """Structured logging through one function, as the house rules ask."""
    logger.log(level, message, extra={"context": context})


@dataclass
class Item:
    sku: str
    name: str
    unit_price: Decimal
    quantity: int = 0
    tags: set[str] = field(default_factory=set)


class Inventory:
    """Items by SKU, with stock movements and valuation."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}

    def add_item(self, item: Item, *, replace: bool = False) -> None:
        """Add ``item``; refuse a duplicate SKU unless ``replace`` is true."""
        # IMPLEMENTATION REQUIRED
        pass

    def remove_stock(self, sku: str, quantity: int) -> int:
        """Take ``quantity`` units of ``sku`` out of stock and return what is left.

        Raises ModelOnexError for an unknown SKU, a non-positive quantity or
        insufficient stock.
        """
        raise NotImplementedError("remove_stock")

    def total_value(self) -> Decimal:
        """The value of everything in stock."""
        ...

    def find_by_tag(
        self,
        tag: str,
        *,
        in_stock_only: bool = True,  # items with quantity 0 are skipped by default
    ) -> list[Item]:
        """Items carrying ``tag``, sorted by SKU."""
        pass  # Stub


class Report:
    """Plain-text summaries of an inventory."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def total_value(self) -> str:
        """The inventory's value formatted with two decimals."""
        raise NotImplementedError
