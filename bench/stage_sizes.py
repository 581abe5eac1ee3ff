"""How the stages scale with the size of a module: synthetic modules of 10 to 5,000 stubs.

Each size's stage times are given next to one libcst parse and one ``ast`` parse of the same
module, measured in the same run (medians of the repetitions), so the ratios hold on a loaded
machine. The goal: at 1,000 stubs, each of extract, validate (every rule) and inject within
``RATIO_GOAL`` libcst parses.
"""

from __future__ import annotations

import ast
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

from bench.report import markdown_table, styled_table
from bench.synthetic import (
    MEBIBYTE,
    METHODS_PER_CLASS,
    SyntheticModule,
    synthetic_module,
    synthetic_module_of_size,
)
from pipeline.stages.extract import ExtractOptions, extract_stubs
from pipeline.stages.inject import inject_bodies
from pipeline.stages.validate import Rule, ValidateOptions, validate_bodies
from pipeline.stages.validate.options import CONCRETE_RULES

DEFAULT_SIZES: tuple[int | str, ...] = (10, 100, 1000, 5000, "1MiB")
RATIO_GOAL = 2.0
GOAL_SIZE = 1000
"""Stubs of the size the ratio goal holds at."""
SIZE_STAGES = ("extract", "validate", "validate+types", "inject")
_COLUMNS = (
    "Module",
    "Lines",
    "libcst parse",
    "ast parse",
    "extract",
    "validate",
    "validate+types",
    "inject",
    "Met?",
)


def parse_sizes(text: str) -> list[int | str]:
    """``10,100,1MiB`` -> ``[10, 100, "1MiB"]`` (stub counts; ``1MiB`` a module of 1 MiB)."""
    sizes: list[int | str] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        sizes.append("1MiB" if part.lower() == "1mib" else int(part))
    return sizes


def _module(size: int | str) -> SyntheticModule:
    return synthetic_module_of_size(MEBIBYTE) if size == "1MiB" else synthetic_module(int(size))


def _median_time(call: Callable[[], Any], repetitions: int) -> float:
    times = []
    for _ in range(repetitions):
        gc.collect()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(module: SyntheticModule, repetitions: int) -> dict[str, Any]:
    """Median wall milliseconds of the two parses and of each stage on ``module``."""
    untyped = ValidateOptions(rules=set(CONCRETE_RULES - {Rule.TYPES}))
    calls: dict[str, Callable[[], Any]] = {
        "libcst_parse": lambda: cst.parse_module(module.source),
        "ast_parse": lambda: ast.parse(module.source),
        "extract": lambda: extract_stubs(module.source, ExtractOptions(), path=module.name),
        "validate": lambda: validate_bodies(module.source, module.bodies, untyped),
        "validate+types": lambda: validate_bodies(module.source, module.bodies, ValidateOptions()),
        "inject": lambda: inject_bodies(module.source, module.bodies),
    }
    found = len(extract_stubs(module.source, ExtractOptions(), path=module.name).stubs)
    if found != len(module.bodies):
        raise RuntimeError(f"{module.name}: extract found {found} of {len(module.bodies)} stubs")
    report = validate_bodies(module.source, module.bodies, ValidateOptions())
    if report.findings:
        raise RuntimeError(f"{module.name}: validate found {report.findings[0]}")
    ms = {name: _median_time(call, repetitions) * 1000 for name, call in calls.items()}
    parse = ms["libcst_parse"]
    return {
        "module": module.name,
        "stubs": len(module.bodies),
        "lines": module.lines,
        "bytes": len(module.source.encode()),
        "wall_ms": ms,
        "ratio_to_libcst_parse": {stage: ms[stage] / parse for stage in SIZE_STAGES},
    }


def run_sizes(sizes: Sequence[int | str], repetitions: int) -> dict[str, Any]:
    """The scaling table's data, as a JSON-ready dict."""
    results = [measure(_module(size), repetitions) for size in sizes]
    for result in results:
        ratios = result["ratio_to_libcst_parse"]
        result["met"] = (
            all(ratio <= RATIO_GOAL for ratio in ratios.values())
            if result["stubs"] == GOAL_SIZE
            else None
        )
    return {
        "methods_per_class": METHODS_PER_CLASS,
        "repetitions": repetitions,
        "ratio_goal": RATIO_GOAL,
        "goal_stubs": GOAL_SIZE,
        "modules": results,
    }


def _cell(result: dict[str, Any], stage: str) -> str:
    ms = result["wall_ms"][stage]
    return f"{ms:.0f} ms ({result['ratio_to_libcst_parse'][stage]:.2f}x)"


def size_rows(sizes: dict[str, Any]) -> list[tuple[str, ...]]:
    found = []
    for result in sizes["modules"]:
        met = {None: "-", True: "yes", False: "no"}[result["met"]]
        found.append(
            (
                f"{result['stubs']} stubs, {result['bytes'] / 1024:.0f} KiB",
                str(result["lines"]),
                f"{result['wall_ms']['libcst_parse']:.0f} ms",
                f"{result['wall_ms']['ast_parse']:.0f} ms",
                *(_cell(result, stage) for stage in SIZE_STAGES),
                met,
            )
        )
    return found


def size_caption(sizes: dict[str, Any]) -> str:
    return (
        f"Synthetic modules, {sizes['methods_per_class']} methods a class, all stubbed; median "
        f"of {sizes['repetitions']} runs; (x) = the stage's time over one libcst parse of the "
        f"same module in the same run. Goal: at {sizes['goal_stubs']} stubs, extract, validate "
        f"and inject each ≤ {sizes['ratio_goal']:g}x (validate+types includes ty)."
    )


def size_table(sizes: dict[str, Any]) -> Any:
    title = "Stage time by module size"
    return styled_table(title, _COLUMNS, size_rows(sizes), size_caption(sizes))


def size_markdown(sizes: dict[str, Any]) -> list[str]:
    return [*markdown_table(_COLUMNS, size_rows(sizes)), "", size_caption(sizes)]
