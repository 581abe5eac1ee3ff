"""The provided generator honours ``only`` (a repair regenerates some stubs)."""

from __future__ import annotations

import pytest

from pipeline.stages.generate import GenerateError, ProvidedGenerator

from .helpers import task

BODIES = {"Cart.total": "return Decimal(0)", "Cart.checkout": "return ''", "slugify": "return ''"}


async def test_only_the_named_stubs_are_returned() -> None:
    bodies = await ProvidedGenerator().generate(task(provided_bodies=BODIES, only=["slugify"]))
    assert [(b.qualified_name, b.code) for b in bodies] == [("slugify", "return ''")]


async def test_the_bodies_are_the_same_every_attempt() -> None:
    first = await ProvidedGenerator().generate(task(provided_bodies=BODIES))
    again = await ProvidedGenerator().generate(
        task(provided_bodies=BODIES, attempt=2, only=["Cart.total"])
    )
    assert again[0].code == first[0].code
    assert again[0].attempt == 2


async def test_a_missing_body_outside_only_is_fine() -> None:
    partial = {"slugify": "return ''"}
    bodies = await ProvidedGenerator().generate(task(provided_bodies=partial, only=["slugify"]))
    assert len(bodies) == 1
    with pytest.raises(GenerateError) as caught:
        await ProvidedGenerator().generate(task(provided_bodies=partial))
    assert caught.value.code == "MISSING_BODY"


async def test_an_unknown_name_in_only() -> None:
    with pytest.raises(GenerateError) as caught:
        await ProvidedGenerator().generate(task(provided_bodies=BODIES, only=["Cart.totl"]))
    assert caught.value.code == "UNKNOWN_STUB"
    assert "Cart.totl" in caught.value.message
