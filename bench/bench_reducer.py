"""Throughput of the pure metrics fold: events per second into hourly, daily and weekly windows.

    python -m bench.bench_reducer [--events N] [--batch 1000] [--output bench/results/reducer.json]

The events (requests walking the five stages over three days, some retried, repaired or failing,
in event-time order as on the metrics topic) are built up front: pydantic validation is not
measured. Each measure is the best of three runs on one core, timed with ``time.perf_counter``
(and ``time.process_time``, the CPU time, which a busy machine disturbs less):

- ``prepare``: extracting the fields the fold needs from each event (once per event);
- ``fold``: ``MetricsReducer.fold_into``, one event at a time into all three windows;
- ``reduce``: ``MetricsReducer.reduce``, the stream layer's per-event call (fold, alerts, late
  check, watermark), with the states in a plain dict standing in for the table;
- ``fold_batch`` and ``reduce_batch``: the same by batches of ``--batch`` events: each event is
  folded once into a delta of its hour, merged into the three windows at the end of the batch.

Every measure must give the same window states; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.catalogue import STAGES
from pipeline.metrics import MetricsConfig, MetricsReducer, WindowKey, WindowState, prepare
from pipeline.records import MetricsEvent, Outcome

TARGET_EVENTS_PER_SECOND = 200_000
BATCH = 1000
MODELS = ("small-coder", "large-coder", "repair-model")
ERROR_CODES = ("INVALID_REQUEST", "NO_STUBS", "GENERATION_FAILED", "VALIDATION_FAILED",
               "INTERNAL_ERROR")  # fmt: skip
START = datetime(2024, 3, 1, tzinfo=UTC)
SPAN = timedelta(days=3)


def synthetic_events(count: int, seed: int = 5) -> list[MetricsEvent]:
    """``count`` events of requests walking the stages over three days, some failing."""
    rng = random.Random(seed)
    events: list[MetricsEvent] = []
    span_s = SPAN.total_seconds()
    n = 0
    while len(events) < count:
        n += 1
        request_id = f"req-{n}"
        submitted = START + timedelta(seconds=rng.random() * span_s)
        now = submitted
        model = rng.choice(MODELS)
        fail_at = rng.choice(STAGES) if rng.random() < 0.1 else None
        for stage in STAGES:
            attempts = rng.choice((1, 1, 1, 2, 3)) if stage == "generate" else 1
            for attempt in range(1, attempts + 1):
                duration = rng.lognormvariate(3.0 if stage != "generate" else 7.0, 0.8)
                now += timedelta(milliseconds=duration)
                failed = stage == fail_at and attempt == attempts
                terminal = failed or stage == "store"
                retry = attempt < attempts
                generating = stage == "generate"
                events.append(
                    MetricsEvent(
                        request_id=request_id,
                        submitted_at=submitted,
                        produced_at=now,
                        stage=stage,
                        outcome=Outcome.RETRY
                        if retry
                        else (Outcome.FAILED if failed else Outcome.OK),
                        duration_ms=duration,
                        event_time=now,
                        error_code=rng.choice(ERROR_CODES) if failed else None,
                        stubs=rng.randint(1, 12) if stage == "extract" else 0,
                        attempt=attempt,
                        model=model if generating else None,
                        prompt_tokens=rng.randint(200, 4000) if generating else 0,
                        completion_tokens=rng.randint(50, 2000) if generating else 0,
                        cost_usd=rng.random() * 0.01 if generating else 0.0,
                        end_to_end_ms=(now - submitted).total_seconds() * 1000
                        if terminal
                        else None,
                    )
                )
                if failed or len(events) >= count:
                    break
            if fail_at == stage or len(events) >= count:
                break
    # The metrics topic receives events in (roughly) event-time order.
    events.sort(key=lambda e: e.event_time)
    return events


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock (``perf_counter``) and best CPU (``process_time``) seconds of ``runs``."""
    wall = cpu = float("inf")
    for _ in range(runs):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def batches(events: list[MetricsEvent], size: int) -> list[list[MetricsEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def measure(events: list[MetricsEvent], runs: int = 3, batch: int = BATCH) -> dict[str, Any]:
    reducer = MetricsReducer(MetricsConfig())
    chunks = batches(events, batch)

    def run_prepare() -> None:
        for event in events:
            prepare(event)

    def run_fold() -> dict[WindowKey, WindowState]:
        states: dict[WindowKey, WindowState] = {}
        fold = reducer.fold_into
        for event in events:
            fold(states, event)
        return states

    def run_reduce() -> dict[WindowKey, WindowState]:
        states: dict[WindowKey, WindowState] = {}
        watermark = None
        reduce = reducer.reduce
        for event in events:
            result = reduce(event, states, watermark)
            states.update(result.updates)
            watermark = result.watermark
        return states

    def run_fold_batch() -> dict[WindowKey, WindowState]:
        states: dict[WindowKey, WindowState] = {}
        for chunk in chunks:
            reducer.fold_batch(states, chunk)
        return states

    def run_reduce_batch() -> dict[WindowKey, WindowState]:
        states: dict[WindowKey, WindowState] = {}
        watermark = None
        for chunk in chunks:
            result = reducer.reduce_batch(chunk, states, watermark)
            states.update(result.updates)
            watermark = result.watermark
        return states

    actions: dict[str, Callable[[], object]] = {
        "prepare": run_prepare,
        "fold": run_fold,
        "reduce": run_reduce,
        "fold_batch": run_fold_batch,
        "reduce_batch": run_reduce_batch,
    }
    results: dict[str, Any] = {}
    for name, action in actions.items():
        wall, cpu = best_of(runs, action)
        results[name] = {
            "seconds": round(wall, 4),
            "events_per_second": round(len(events) / wall),
            "cpu_seconds": round(cpu, 4),
            "events_per_cpu_second": round(len(events) / cpu),
        }
    states = run_fold()
    for other in (run_fold_batch(), run_reduce(), run_reduce_batch()):
        for state in other.values():
            state.alerted.clear()  # only the reducers raise alerts
        if other != states:
            raise AssertionError("the per-event and batch folds disagree")
    results["windows"] = {
        kind: sum(1 for key in states if key.kind == kind) for kind in reducer.kinds
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=BATCH, help="events per batch")
    parser.add_argument("--output", type=Path, default=Path("bench/results/reducer.json"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    events = synthetic_events(args.events)
    built = time.perf_counter() - started
    results = measure(events, args.runs, args.batch)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(
        f"{len(events)} events built in {built:.1f} s; best of {args.runs} runs, one core"
        f" (batches of {args.batch}; load average {load})"
    )
    print(f"{'measure':<14}{'seconds':>9}{'events/s':>12}{'cpu s':>9}{'events/cpu s':>14}")
    for name in ("prepare", "fold", "reduce", "fold_batch", "reduce_batch"):
        row = results[name]
        print(
            f"{name:<14}{row['seconds']:>9.3f}{row['events_per_second']:>12,}"
            f"{row['cpu_seconds']:>9.3f}{row['events_per_cpu_second']:>14,}"
        )
    for name in ("fold", "fold_batch"):
        rate = results[name]["events_per_second"]
        verdict = "meets" if rate >= TARGET_EVENTS_PER_SECOND else "misses"
        print(f"{name} {verdict} the target of {TARGET_EVENTS_PER_SECOND:,} events/s (wall clock)")

    document = {
        "benchmark": "metrics reducer fold",
        "events": len(events),
        "runs": args.runs,
        "batch": args.batch,
        "load_average": load,
        "window_kinds": list(MetricsReducer().kinds),
        "windows": results.pop("windows"),
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "results": results,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
