"""The collector is off inside stage calls and back to its state after, whatever the calls do."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import pipeline.stages.inject as inject_module
from pipeline.stages.extract import extract_stubs
from pipeline.stages.extract import extractor as extractor_module
from pipeline.stages.gc_pause import gc_paused
from pipeline.stages.inject import inject_bodies
from pipeline.stages.inject.splice import inject_spliced
from pipeline.stages.validate import validate_bodies
from pipeline.stages.validate import validator as validator_module


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_restored_after_a_normal_return() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception() -> None:
    with pytest.raises(ValueError), gc_paused():
        assert not gc.isenabled()
        raise ValueError("stage failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_nested_calls_enable_only_when_the_outermost_leaves() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_as_a_decorator() -> None:
    @gc_paused()
    def stage() -> bool:
        return gc.isenabled()

    assert stage() is False
    assert stage() is False  # a fresh pause each call
    assert gc.isenabled()


def test_two_threads_enable_only_when_the_last_leaves() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with gc_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first left"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert first_out.is_set() and second_in.is_set()
    assert seen == {"after the first left": False}
    assert gc.isenabled()


def test_many_threads_overlapping_leave_it_enabled() -> None:
    start = threading.Barrier(8)

    def stage_calls() -> None:
        start.wait(5)
        for _ in range(200):
            with gc_paused(), gc_paused():
                pass

    threads = [threading.Thread(target=stage_calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert gc.isenabled()


def _recording(function: Callable[..., Any], seen: list[bool]) -> Callable[..., Any]:
    def recorded(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return function(*args, **kwargs)

    return recorded


SOURCE = 'def answer() -> int:\n    """The answer."""\n    ...\n'


def test_extract_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(extractor_module, "_parse", _recording(extractor_module._parse, seen))
    assert len(extract_stubs(SOURCE).stubs) == 1
    assert seen == [False]
    assert gc.isenabled()


def test_validate_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    syntax = validator_module.syntax
    monkeypatch.setattr(syntax, "check_body", _recording(syntax.check_body, seen))
    assert validate_bodies(SOURCE, {"answer": "return 42"}).findings == []
    assert seen == [False]
    assert gc.isenabled()


def test_inject_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(inject_module, "inject_spliced", _recording(inject_spliced, seen))
    assert "return 42" in inject_bodies(SOURCE, {"answer": "return 42"}).source
    assert seen == [False]
    assert gc.isenabled()
