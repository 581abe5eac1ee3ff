"""What the verify stage's sandbox costs: start-up overhead per run and runs per second.

    python -m bench verify [--pairs 30] [--throughput-runs 24] [--output bench/results/verify.json]

A small module (three functions) and its test file (six tests) are verified ``--pairs`` times
sandboxed (bubblewrap: namespaces, read-only binds, limits) and unsandboxed (the same runner,
limits and pytest command, without bwrap), the two runs of a pair back to back so both see the
same load on a shared machine. The overhead of a pair is the difference of their wall times;
its median is the goal (≤ 150 ms). Then ``--throughput-runs`` sandboxed runs go through two
at a time (one per core), for runs per second.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.stages.verify import SandboxOptions, VerifyTask, verify_module
from pipeline.stages.verify.runner import resolve_sandbox, run_sandboxed

GOAL_OVERHEAD_MS = 150.0

MODULE = """\
def add(a: int, b: int) -> int:
    return a + b


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def words(text: str) -> list[str]:
    return [word for word in text.split() if word]
"""

TESTS = """\
import pytest

from small import add, clamp, words


def test_add() -> None:
    assert add(2, 3) == 5


@pytest.mark.parametrize(("value", "expected"), [(-5, 0), (5, 5), (50, 10)])
def test_clamp(value: int, expected: int) -> None:
    assert clamp(value, 0, 10) == expected


def test_words() -> None:
    assert words("  a b  c ") == ["a", "b", "c"]


def test_no_words() -> None:
    assert words("   ") == []
"""

TASK = VerifyTask(source=MODULE, module_path="small.py", tests={"tests/test_small.py": TESTS})


def timed(options: SandboxOptions) -> float:
    """Wall seconds of one verification of the small module."""
    started = time.perf_counter()
    report = verify_module(TASK, options)
    seconds = time.perf_counter() - started
    if not report.passed or report.tests_passed != 6:
        raise SystemExit(f"the benchmark's tests did not pass: {report.findings}")
    return seconds


def timed_start(options: SandboxOptions, workdir: Path) -> float:
    """Wall seconds of an interpreter that does nothing, through the same runner: the
    sandbox's start-up alone."""
    bwrap = resolve_sandbox(options)
    started = time.perf_counter()
    run = run_sandboxed([options.python, "-c", "pass"], workdir, options, bwrap=bwrap)
    if run.returncode != 0:
        raise SystemExit(f"an empty run failed: {run.output!r}")
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "median": round(statistics.median(ms), 1),
        "p95": round(percentile(ms, 0.95), 1),
        "min": round(min(ms), 1),
    }


def side_by_side(
    pairs: int,
    run: Callable[[SandboxOptions], float],
    sandboxed: SandboxOptions,
    unsandboxed: SandboxOptions,
) -> tuple[list[float], list[float]]:
    """``pairs`` runs each way, back to back, alternating which goes first."""
    inside: list[float] = []
    outside: list[float] = []
    for number in range(pairs):
        if number % 2 == 0:
            inside.append(run(sandboxed))
            outside.append(run(unsandboxed))
        else:
            outside.append(run(unsandboxed))
            inside.append(run(sandboxed))
    return inside, outside


def measure(pairs: int, throughput_runs: int) -> dict[str, Any]:
    sandboxed = SandboxOptions()
    unsandboxed = SandboxOptions(bwrap="/nonexistent/bwrap", allow_unsandboxed=True)
    logging.getLogger("pipeline.stages.verify").setLevel(logging.ERROR)
    timed(sandboxed), timed(unsandboxed)  # warm the page cache and the probe
    inside, outside = side_by_side(pairs, lambda options: timed(options), sandboxed, unsandboxed)
    overheads = [a - b for a, b in zip(inside, outside, strict=True)]
    with tempfile.TemporaryDirectory(prefix="codegen-bench-") as workdir:
        start_in, start_out = side_by_side(
            pairs, lambda options: timed_start(options, Path(workdir)), sandboxed, unsandboxed
        )
    start_overheads = [a - b for a, b in zip(start_in, start_out, strict=True)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: timed(sandboxed), range(throughput_runs)))
    elapsed = time.perf_counter() - started
    overhead = summary(overheads)
    return {
        "config": {"pairs": pairs, "throughput_runs": throughput_runs, "tests": 6},
        "sandboxed_ms": summary(inside),
        "unsandboxed_ms": summary(outside),
        "overhead_ms": overhead,
        "empty_sandboxed_ms": summary(start_in),
        "empty_unsandboxed_ms": summary(start_out),
        "empty_overhead_ms": summary(start_overheads),
        "runs_per_second_2_cores": round(throughput_runs / elapsed, 2),
        "goal_overhead_ms": GOAL_OVERHEAD_MS,
        "met": overhead["median"] <= GOAL_OVERHEAD_MS,
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    }


def print_results(results: dict[str, Any]) -> None:
    print("| run | median ms | p95 ms | min ms |")
    print("|---|---:|---:|---:|")
    for key, label in (
        ("sandboxed_ms", "sandboxed (bwrap)"),
        ("unsandboxed_ms", "unsandboxed"),
        ("overhead_ms", "overhead per run (pairs)"),
        ("empty_sandboxed_ms", "`python -c pass`, sandboxed"),
        ("empty_unsandboxed_ms", "`python -c pass`, unsandboxed"),
        ("empty_overhead_ms", "start-up overhead (pairs)"),
    ):
        row = results[key]
        print(f"| {label} | {row['median']} | {row['p95']} | {row['min']} |")
    print(
        f"runs per second on 2 cores (sandboxed, two at a time): "
        f"{results['runs_per_second_2_cores']}; goal overhead ≤ {GOAL_OVERHEAD_MS:g} ms median: "
        f"{'met' if results['met'] else 'NOT met'} "
        f"(load average {results['environment']['load_average']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--throughput-runs", type=int, default=24)
    parser.add_argument("--output", type=Path, default=Path("bench/results/verify.json"))
    args = parser.parse_args(argv)
    results = measure(args.pairs, args.throughput_runs)
    print_results(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
