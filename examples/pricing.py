"""Prices with discounts and tax: stubs whose tests sit beside them, in pricing.tests/."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


class ModelOnexError(Exception):
    """The error every service of this code base raises."""


def apply_discount(price: Decimal, percent: int) -> Decimal:
    """``price`` less ``percent`` per cent, rounded to the cent; 0 <= percent <= 100."""
    raise NotImplementedError


def with_tax(price: Decimal, rate: Decimal) -> Decimal:
    """``price`` plus tax at ``rate`` (``Decimal("0.2")`` for 20 %), rounded to the cent."""
    ...
