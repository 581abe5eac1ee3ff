"""How the end-to-end benchmark splits a request's time into its topic hops."""

from __future__ import annotations

import pytest

from bench.bench_e2e import hop_times


def test_each_hop_runs_from_the_work_before_it_to_the_work_after_it() -> None:
    spans = {
        "extract": (10.002, 10.004),
        "generate": (10.006, 10.007),
        "validate": (10.010, 10.020),
        "inject": (10.023, 10.033),
        "verify": (10.035, 10.037),
        "store": (10.040, 10.041),
    }
    hops = hop_times((10.000, 10.044), spans)
    assert hops == pytest.approx([2.0, 2.0, 3.0, 3.0, 2.0, 3.0, 3.0])
