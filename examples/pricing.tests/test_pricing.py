from decimal import Decimal

import pytest

from pricing import ModelOnexError, apply_discount, with_tax


def test_a_discount_takes_its_share_off() -> None:
    assert apply_discount(Decimal("80.00"), 25) == Decimal("60.00")


def test_a_discount_rounds_to_the_cent() -> None:
    assert apply_discount(Decimal("9.99"), 15) == Decimal("8.49")


def test_a_discount_over_100_percent_is_refused() -> None:
    with pytest.raises(ModelOnexError):
        apply_discount(Decimal("1.00"), 120)


def test_tax_is_added() -> None:
    assert with_tax(Decimal("10.00"), Decimal("0.2")) == Decimal("12.00")
