"""Workers run on uvloop where it is installed, on asyncio's own loop otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import mode.loop
import pytest
import uvloop

from pipeline.settings import Settings
from pipeline.workers.main import use_event_loop


@pytest.fixture
def restore_policy() -> Iterator[None]:
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def test_workers_default_to_uvloop() -> None:
    assert Settings().event_loop == "uvloop"


def test_uvloop_makes_new_loops_uvloop_ones(restore_policy: None) -> None:
    assert use_event_loop("uvloop") == "uvloop"
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_without_uvloop_the_worker_keeps_asyncio(
    restore_policy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(mode.loop, "use", missing)
    assert use_event_loop("uvloop") == "asyncio"
    loop = asyncio.new_event_loop()
    try:
        assert not isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_asyncio_leaves_the_policy_alone(restore_policy: None) -> None:
    before = asyncio.get_event_loop_policy()
    assert use_event_loop("asyncio") == "asyncio"
    assert asyncio.get_event_loop_policy() is before
