"""Benchmarks: ``python -m bench [NAME] [options]``, ``stages`` by default.

- ``stages``: latency of the extract, validate, inject and store stages (``bench.bench_stages``);
- ``reducer``: throughput of the metrics fold (``bench.bench_reducer``);
- ``generate``: a generate worker's throughput and latency (``bench.bench_generate``);
- ``e2e``: the whole pipeline in-process and through Kafka (``bench.bench_e2e``);
- ``metrics-kafka``: the reducer through Kafka into its tables (``bench.bench_metrics_kafka``);
- ``context``: what the prompts carry of what the bodies use (``bench.bench_context``).
- ``roundtrip``: stubbed real modules filled with their own bodies (``bench.roundtrip``).
- ``verify``: the verify stage's sandbox overhead and runs per second (``bench.bench_verify``).

The options after the benchmark's name go to it (``python -m bench stages --help``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import cast

BENCHMARKS = {
    "stages": "bench.bench_stages",
    "reducer": "bench.bench_reducer",
    "generate": "bench.bench_generate",
    "e2e": "bench.bench_e2e",
    "metrics-kafka": "bench.bench_metrics_kafka",
    "context": "bench.bench_context",
    "roundtrip": "bench.roundtrip",
    "verify": "bench.bench_verify",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    name = "stages"
    if args and not args[0].startswith("-"):
        name = args.pop(0)
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(BENCHMARKS[name])
    except ModuleNotFoundError as error:
        if error.name != BENCHMARKS[name]:
            raise
        print(f"benchmark {name!r} is not available ({BENCHMARKS[name]})", file=sys.stderr)
        return 2
    entry = getattr(module, "main", None)
    if entry is None:
        print(f"{BENCHMARKS[name]} has no main()", file=sys.stderr)
        return 2
    return cast(Callable[[list[str]], int], entry)(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
