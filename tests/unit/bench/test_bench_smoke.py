"""The stage benchmark runs end to end on a tiny corpus (a smoke test: no timing is checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main as bench_main
from bench.bench_stages import STAGES, percentile
from bench.corpus import STUBS_PER_MODULE, StubbedModule, build_corpus
from bench.stage_sizes import SIZE_STAGES
from bench.synthetic import MEBIBYTE, synthetic_module_of_size
from pipeline.stages.extract import extract_stubs
from pipeline.stages.inject import inject_bodies


@pytest.fixture(scope="module")
def corpus() -> list[StubbedModule]:
    return build_corpus(2)


def test_corpus_modules_have_exactly_the_chosen_stubs(corpus: list[StubbedModule]) -> None:
    assert len(corpus) == 2
    for module in corpus:
        assert len(module.bodies) == STUBS_PER_MODULE
        found = extract_stubs(module.source, path=module.relative_path).stubs
        assert {stub.qualified_name for stub in found} == set(module.bodies)
        assert inject_bodies(module.source, module.bodies).filled == list(module.bodies)


def test_corpus_is_deterministic(corpus: list[StubbedModule]) -> None:
    assert build_corpus(2) == corpus


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 0.5) == 10.0
    assert percentile([3.0], 0.95) == 3.0


def test_stage_benchmark_writes_every_stage(tmp_path: Path) -> None:
    output = tmp_path / "out" / "stages.json"
    code = bench_main(
        [
            "stages",
            *("--modules", "2", "--repetitions", "1", "--output", str(output), "--quiet"),
            *("--sizes", "10,20", "--size-repetitions", "1"),
        ]
    )
    assert code == 0
    results = json.loads(output.read_text(encoding="utf-8"))
    assert results["config"]["modules"] == 2
    assert set(results["stages"]) == set(STAGES)
    for stage in results["stages"].values():
        for kind in ("wall_ms", "cpu_ms"):
            assert stage[kind]["median"] > 0
            assert stage[kind]["p95"] >= stage[kind]["median"]
            assert 0 < stage[kind]["per_stub_median"] < stage[kind]["median"]
        assert stage["target_ms"] > 0 and stage["old_budget_ms"] > 0
        assert isinstance(stage["met"], bool)
    markdown = output.with_suffix(".md").read_text(encoding="utf-8")
    assert all(f"| {stage} |" in markdown for stage in STAGES)
    sizes = results["sizes"]["modules"]
    assert [size["stubs"] for size in sizes] == [10, 20]
    for size in sizes:
        assert size["wall_ms"]["libcst_parse"] > 0 and size["wall_ms"]["ast_parse"] > 0
        assert set(size["ratio_to_libcst_parse"]) == set(SIZE_STAGES)
    assert "| 20 stubs," in markdown


def test_synthetic_module_of_a_mebibyte() -> None:
    module = synthetic_module_of_size(MEBIBYTE)
    assert MEBIBYTE <= len(module.source.encode()) < MEBIBYTE * 1.1
    found = extract_stubs(module.source, path=module.name).stubs
    assert {stub.qualified_name for stub in found} == set(module.bodies)


def test_unknown_benchmark_is_an_error() -> None:
    assert bench_main(["nope"]) == 2
