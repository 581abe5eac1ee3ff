"""Requests with tests: built from files beside a module, with bodies per attempt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.client import build_request
from pipeline.errors import InvalidRequestError
from pipeline.records import GenerationRequest
from tests.fixtures import EXAMPLES


def test_the_example_brings_its_tests_and_a_repair() -> None:
    request = build_request(EXAMPLES / "pricing.py")
    assert list(request.tests) == ["tests/test_pricing.py"]
    assert "def test_a_discount_takes_its_share_off" in request.tests["tests/test_pricing.py"]
    assert request.bodies["apply_discount"] != request.bodies_for(2)["apply_discount"]
    assert request.bodies_for(2)["with_tax"] == request.bodies["with_tax"]


def test_bodies_per_attempt_keep_the_last_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f() -> int:\n    ...\n\ndef g() -> int:\n    ...\n")
    (tmp_path / "m.bodies.json").write_text(
        json.dumps({"f": ["return 1", "return 2", "return 3"], "g": "return 0"})
    )
    request = build_request(module)
    assert [request.bodies_for(n)["f"] for n in (1, 2, 3, 4)] == [
        "return 1",
        "return 2",
        "return 3",
        "return 3",
    ]
    assert {request.bodies_for(n)["g"] for n in (1, 2, 3)} == {"return 0"}
    assert request.tests == {}


def test_a_request_without_later_bodies_uses_its_bodies_on_every_attempt() -> None:
    request = GenerationRequest(source="", output_path="a.py", bodies={"f": "return 1"})
    assert request.bodies_for(3) == {"f": "return 1"}


@pytest.mark.parametrize("value", [[], [1], 3, None])
def test_a_malformed_bodies_file_is_refused(tmp_path: Path, value: object) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f() -> int:\n    ...\n")
    (tmp_path / "m.bodies.json").write_text(json.dumps({"f": value}))
    with pytest.raises(InvalidRequestError, match="one per attempt"):
        build_request(module)


def test_submitting_a_folder_skips_the_test_folders() -> None:
    from pipeline.cli.submit_cmd import collect_requests

    requests = collect_requests(EXAMPLES, None, None, False)
    paths = sorted(r.output_path for r in requests)
    assert "pricing.py" in paths
    assert not any("tests" in p for p in paths), paths
