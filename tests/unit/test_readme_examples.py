"""The README's kcat example writes exactly one request, on one line (``kcat -P`` sends a
message per line). tests/integration/test_readme.py runs the whole example on a broker."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline.records import GenerationRequest, decode
from tests.support.readme import README, jq_part, kcat_example

pytestmark = pytest.mark.skipif(shutil.which("jq") is None, reason="no jq on this machine")


def test_the_jq_part_writes_one_line_of_request_json() -> None:
    publish, _ = kcat_example()
    assert " | kcat -P " in publish and " -k r1" in publish
    written = subprocess.run(
        jq_part(publish), shell=True, cwd=README.parent, capture_output=True, check=True
    ).stdout
    lines = written.splitlines()
    assert len(lines) == 1, f"{len(lines)} lines: kcat would send {len(lines)} messages"
    request = decode(GenerationRequest, lines[0])
    assert (request.request_id, request.output_path) == ("r1", "inventory.py")
    assert request.source == (README.parent / "examples" / "inventory.py").read_text()
    assert request.bodies
