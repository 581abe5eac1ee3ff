"""Large sources are checked and rewritten in a thread; small ones on the loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.processors import build_processors
from pipeline.processors import extract as extract_module
from pipeline.processors import stages as stage_module
from pipeline.processors.offload import INLINE_LIMIT_CHARS, run_stage_work
from pipeline.records import GenerationRequest
from pipeline.settings import Settings

STUB = 'def answer_{i}() -> int:\n    """The answer."""\n    ...\n\n\n'


def module_of(chars: int) -> tuple[str, dict[str, str]]:
    """A module of at least ``chars`` characters of stubs, and a body for each."""
    stubs: list[str] = []
    while sum(map(len, stubs)) < chars:
        stubs.append(STUB.format(i=len(stubs)))
    return "".join(stubs), {f"answer_{i}": "return 42" for i in range(len(stubs))}


async def test_small_work_runs_inline_and_large_work_in_a_thread() -> None:
    here = threading.get_ident()
    assert await run_stage_work("x", threading.get_ident) == here
    assert await run_stage_work("x" * (INLINE_LIMIT_CHARS + 1), threading.get_ident) != here


async def test_errors_of_work_in_a_thread_reach_the_caller() -> None:
    def fail() -> None:
        raise ValueError("bad module")

    with pytest.raises(ValueError, match="bad module"):
        await run_stage_work("x" * (INLINE_LIMIT_CHARS + 1), fail)


@pytest.mark.parametrize(
    ("chars", "off_loop"), [(2_000, False), (INLINE_LIMIT_CHARS + 1_000, True)]
)
async def test_the_stages_move_their_work_off_the_loop_for_large_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chars: int, off_loop: bool
) -> None:
    ran_in: dict[str, int] = {}

    def recorded(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            ran_in[name] = threading.get_ident()
            return work(*args, **kwargs)

        return run

    for module, name in (
        (extract_module, "extract_stubs"),
        (stage_module, "validate_bodies"),
        (stage_module, "inject_bodies"),
    ):
        monkeypatch.setattr(module, name, recorded(name, getattr(module, name)))
    processors = build_processors(Settings(_env_file=None, store_root=tmp_path))
    source, bodies = module_of(chars)
    record: Any = GenerationRequest(source=source, output_path="big.py", bodies=bodies)
    for stage in ("extract", "generate", "validate", "inject"):
        record = await processors[stage].process(record)
    here = threading.get_ident()
    assert set(ran_in) == {"extract_stubs", "validate_bodies", "inject_bodies"}
    assert all((thread != here) is off_loop for thread in ran_in.values()), ran_in
