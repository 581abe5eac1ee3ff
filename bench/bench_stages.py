"""Latency of the pure stages on real modules: extract, validate, inject, store.

    python -m bench stages [--modules 30] [--repetitions 5] [--sizes 10,100,1000,5000,1MiB]
        [--size-repetitions 3] [--output bench/results/stages.json]

The corpus (see :mod:`bench.corpus`) is standard library modules of about 500 lines with ten
function bodies turned into stubs; the original bodies stand in for the generated code. Per
module and repetition, each stage runs once and is timed in wall time (``time.perf_counter``)
and CPU time of this process (``time.process_time``; for validate, the CPU of the ruff and
ty subprocesses is reported on its own). A module's figure is the median of its repetitions; the
table gives the median and the 95th percentile of those over the modules, per file and per
stub (a file's figure divided by its number of stubs).

- ``extract``: ``extract_stubs`` on the stubbed module;
- ``validate``: ``validate_bodies`` with every rule but ``types`` (it injects the bodies itself);
- ``validate+types``: ``validate_bodies`` with every rule, ``types`` (ty) included; the ty
  language server it keeps running is not a child that finished, so its CPU is given apart,
  as a mean per module (``/proc`` has 10 ms ticks, too coarse for one call);
- ``inject``: ``inject_bodies`` of the ten bodies;
- ``store``: ``ArtifactStore.write`` of the injected module into a temporary directory (a new
  path each time: temp file, fsync, rename, directory fsync, ledger entry).

Then the same stages on synthetic modules of growing size (see :mod:`bench.stage_sizes`),
each next to one libcst parse and one ``ast`` parse of the same module in the same run.

One untimed run of every stage on the first module comes first (imports, caches). The garbage
collector runs before each timed call and stays on during it.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.corpus import (
    DEFAULT_SEED,
    MAX_LINES,
    MIN_LINES,
    STUBS_PER_MODULE,
    StubbedModule,
    build_corpus,
)
from bench.report import print_table, render_markdown, write_results
from bench.stage_sizes import DEFAULT_SIZES, parse_sizes, run_sizes, size_markdown, size_table
from pipeline.stages.extract import ExtractOptions, extract_stubs
from pipeline.stages.inject import inject_bodies
from pipeline.stages.store import ArtifactStore
from pipeline.stages.validate import Rule, ValidateOptions, validate_bodies
from pipeline.stages.validate.options import CONCRETE_RULES
from pipeline.stages.validate.ty_server import server_pids

STAGES = ("extract", "validate", "validate+types", "inject", "store")
TARGETS_MS = {
    "extract": 10.0,
    "validate": 30.0,
    "validate+types": 60.0,
    "inject": 50.0,
    "store": 5.0,
}
"""Per module of about 500 lines with ten stubs."""
OLD_BUDGETS_MS = {
    "extract": 100.0,
    "validate": 500.0,
    "validate+types": 500.0,
    "inject": 200.0,
    "store": 1000.0,
}
"""The budgets of the system this one replaces, per file."""

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "stages.json"


@dataclass
class _Samples:
    """One stage's timings: per module, the timings of each repetition (seconds)."""

    wall: list[list[float]] = field(default_factory=list)
    cpu: list[list[float]] = field(default_factory=list)
    child_cpu: list[list[float]] = field(default_factory=list)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ty_server_cpu() -> float:
    """CPU seconds of the ty servers the types rule keeps running (Linux ``/proc``; else 0).

    They are not children that finished, so ``RUSAGE_CHILDREN`` does not count them.
    """
    total = 0.0
    for pid in server_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """The result of ``call``; its wall, CPU and finished subprocesses' CPU time in seconds."""
    gc.collect()
    children = _children_cpu()
    cpu = time.process_time()
    wall = time.perf_counter()
    result = call()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    return result, wall, cpu, _children_cpu() - children


def _run_module(
    module: StubbedModule,
    store: ArtifactStore,
    tag: str,
    samples: dict[str, _Samples] | None,
    extract_options: ExtractOptions,
    validate_options: tuple[ValidateOptions, ValidateOptions],
) -> None:
    """Run every stage once on ``module``; record the timings in ``samples`` if given."""
    untyped, typed = validate_options
    calls: dict[str, Callable[[], Any]] = {
        "extract": lambda: extract_stubs(module.source, extract_options, path=module.relative_path),
        "validate": lambda: validate_bodies(module.source, module.bodies, untyped),
        "validate+types": lambda: validate_bodies(module.source, module.bodies, typed),
        "inject": lambda: inject_bodies(module.source, module.bodies),
    }
    results: dict[str, Any] = {}
    for stage, call in calls.items():
        results[stage], wall, cpu, child = _timed(call)
        if samples is not None:
            samples[stage].wall[-1].append(wall)
            samples[stage].cpu[-1].append(cpu)
            samples[stage].child_cpu[-1].append(child)
    found = len(results["extract"].stubs)
    if found != len(module.bodies):
        raise RuntimeError(f"{module.relative_path}: extract found {found} stubs")
    content = results["inject"].source
    path = f"{tag}/{module.relative_path}"
    _, wall, cpu, child = _timed(lambda: store.write(path, content, request_id=f"bench-{tag}"))
    if samples is not None:
        samples["store"].wall[-1].append(wall)
        samples["store"].cpu[-1].append(cpu)
        samples["store"].child_cpu[-1].append(child)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def _summary(per_module: list[float], stubs: list[int]) -> dict[str, float]:
    per_stub = [value / count for value, count in zip(per_module, stubs, strict=True)]
    return {
        "median": statistics.median(per_module) * 1000,
        "p95": percentile(per_module, 0.95) * 1000,
        "per_stub_median": statistics.median(per_stub) * 1000,
        "per_stub_p95": percentile(per_stub, 0.95) * 1000,
    }


def _stage_result(stage: str, samples: _Samples, stubs: list[int]) -> dict[str, Any]:
    wall = [statistics.median(values) for values in samples.wall]
    cpu = [statistics.median(values) for values in samples.cpu]
    child = [statistics.median(values) for values in samples.child_cpu]
    result: dict[str, Any] = {
        "wall_ms": _summary(wall, stubs),
        "cpu_ms": _summary(cpu, stubs),
        "target_ms": TARGETS_MS[stage],
        "old_budget_ms": OLD_BUDGETS_MS[stage],
    }
    if any(child):
        result["subprocess_cpu_ms"] = _summary(child, stubs)
    result["met"] = result["wall_ms"]["median"] <= TARGETS_MS[stage]
    result["met_cpu"] = result["cpu_ms"]["median"] <= TARGETS_MS[stage]
    result["within_old_budget"] = result["wall_ms"]["p95"] <= OLD_BUDGETS_MS[stage]
    return result


def _environment() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for package in ("libcst", "bandit", "ruff", "ty", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def run(
    modules: int = 30,
    repetitions: int = 5,
    seed: int = DEFAULT_SEED,
    sizes: Sequence[int | str] = (),
    size_repetitions: int = 3,
) -> dict[str, Any]:
    """Benchmark the stages (and on synthetic modules of ``sizes``); a JSON-ready dict."""
    if modules < 1 or repetitions < 1:
        raise ValueError("modules and repetitions must be at least 1")
    corpus = build_corpus(modules, seed=seed)
    if not corpus:
        raise RuntimeError("no usable module found in the standard library")
    extract_options = ExtractOptions()
    untyped = ValidateOptions(rules=set(CONCRETE_RULES - {Rule.TYPES}))
    validate_options = (untyped, ValidateOptions())
    samples = {stage: _Samples() for stage in STAGES}
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as root:
        store = ArtifactStore(Path(root))
        _run_module(corpus[0], store, "warmup", None, extract_options, validate_options)
        server_cpu = _ty_server_cpu()
        for number, module in enumerate(corpus):
            for stage_samples in samples.values():
                stage_samples.wall.append([])
                stage_samples.cpu.append([])
                stage_samples.child_cpu.append([])
            for repetition in range(repetitions):
                tag = f"m{number}-r{repetition}"
                _run_module(module, store, tag, samples, extract_options, validate_options)
        server_cpu = _ty_server_cpu() - server_cpu
    stubs = [len(module.bodies) for module in corpus]
    stages = {stage: _stage_result(stage, samples[stage], stubs) for stage in STAGES}
    stages["validate+types"]["ty_server_cpu_ms_mean"] = (
        server_cpu / (len(corpus) * repetitions) * 1000
    )
    results: dict[str, Any] = {
        "benchmark": "stages",
        "environment": _environment(),
        "config": {
            "modules": len(corpus),
            "modules_requested": modules,
            "repetitions": repetitions,
            "seed": seed,
            "stubs_per_module": STUBS_PER_MODULE,
            "original_lines": [MIN_LINES, MAX_LINES],
        },
        "corpus": {
            "median_lines_stubbed": statistics.median(module.lines for module in corpus),
            "median_lines_original": statistics.median(m.original_lines for m in corpus),
            "modules": [
                {
                    "path": module.relative_path,
                    "lines_stubbed": module.lines,
                    "lines_original": module.original_lines,
                    "stubs": len(module.bodies),
                }
                for module in corpus
            ],
        },
        "stages": stages,
    }
    if sizes:
        results["sizes"] = run_sizes(sizes, size_repetitions)
    return results


def _show(results: dict[str, Any]) -> None:
    print_table(results)
    if "sizes" in results:
        Console().print(size_table(results["sizes"]))


def _markdown(results: dict[str, Any]) -> str:
    text = render_markdown(results)
    if "sizes" in results:
        text += "\n" + "\n".join(size_markdown(results["sizes"])) + "\n"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench stages", description=__doc__.split("\n\n", 1)[0] if __doc__ else ""
    )
    parser.add_argument("--modules", type=int, default=30, help="corpus size (default 30)")
    parser.add_argument(
        "--repetitions", type=int, default=5, help="timed runs per module and stage (default 5)"
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="synthetic module sizes in stubs, and 1MiB (default 10,100,1000,5000,1MiB; '' none)",
    )
    parser.add_argument(
        "--size-repetitions", type=int, default=3, help="timed runs per size (default 3)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus choice seed")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="JSON results file; the markdown table goes next to it with a .md suffix",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)
    results = run(args.modules, args.repetitions, args.seed, args.sizes, args.size_repetitions)
    show = None if args.quiet else partial(_show, results)
    write_results(results, args.output, _markdown(results), show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
