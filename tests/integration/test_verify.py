"""The verify worker on a real broker: a body that fails the request's tests goes back to
generate through ``repairs``, its fix is stored; code that never passes ends on ``failed``
with the findings, and the worker goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.client import build_request
from pipeline.records import FileStored, GenerationRequest, RequestFailed, StubsExtracted
from pipeline.settings import Settings
from pipeline.workers.supervisor import Supervisor
from tests.fixtures import EXAMPLES, expected_source
from tests.integration.test_generation import prepared, read_topic

pytestmark = pytest.mark.integration

TIMEOUT = 240.0


async def test_a_failing_test_is_repaired_and_the_fix_stored(
    settings_factory: Callable[..., Settings],
    workers_factory: Callable[..., Supervisor],
    client_factory: Callable[[Settings], Any],
) -> None:
    settings = await prepared(settings_factory(max_attempts=3, verify_timeout=8.0))
    workers = workers_factory(settings)
    client = await client_factory(settings)

    request = build_request(EXAMPLES / "pricing.py", output_path="verified/pricing.py")
    assert request.tests and request.later_bodies, "the example has tests and a repair"
    looping = GenerationRequest(
        request_id="never-ends",
        source="def spin(n: int) -> int:\n    raise NotImplementedError\n",
        output_path="verified/spin.py",
        bodies={"spin": "while True:\n    n += 1\n"},
        tests={"tests/test_spin.py": "from spin import spin\n\ndef test_spin():\n    spin(1)\n"},
    )
    target = str(settings.store_root / "x").encode().hex()
    escaping = GenerationRequest(
        request_id="escapes",
        source="def leak() -> str:\n    raise NotImplementedError\n",
        output_path="verified/leak.py",
        # The path in hex: bandit (in validate) would flag a literal path under /tmp.
        bodies={"leak": f"return open(bytes.fromhex({target!r}).decode(), 'w').name\n"},
        tests={"tests/test_leak.py": "from leak import leak\n\ndef test_leak():\n    leak()\n"},
    )
    after = build_request(EXAMPLES / "inventory.py", output_path="verified/after/inventory.py")

    stored = await client.submit_and_wait(request, timeout=TIMEOUT)
    assert isinstance(stored, FileStored), stored
    assert Path(stored.artifact.path).read_text(encoding="utf-8") == expected_source(request)
    assert stored.verification is not None and stored.verification.sandboxed
    assert (stored.verification.tests_passed, stored.verification.tests_failed) == (4, 0)

    repairs = await read_topic(
        settings,
        "repairs",
        until=lambda records: any(r.request_id == request.request_id for r in records),
    )
    repair: StubsExtracted = next(r for r in repairs if r.request_id == request.request_id)
    assert repair.attempt == 2
    [finding] = repair.findings
    assert (finding.rule, finding.code, finding.qualified_name) == (
        "tests",
        "TEST_FAILED",
        "apply_discount",
    )
    assert "unsupported operand type(s) for *: 'decimal.Decimal' and 'float'" in finding.message

    ids = [await client.submit(r) for r in (looping, escaping, after)]
    results = {r.request_id: r async for r in client.results(ids, timeout=TIMEOUT)}
    failed = results["never-ends"]
    assert isinstance(failed, RequestFailed), failed
    assert (failed.stage, failed.error_code, failed.attempts) == ("verify", "TESTS_FAILED", 3)
    assert failed.details["findings"][0]["code"] in ("TIMEOUT", "CPU_LIMIT")
    leaked = results["escapes"]
    assert isinstance(leaked, RequestFailed), leaked
    assert leaked.error_code == "TESTS_FAILED"
    assert "FileNotFoundError" in leaked.details["findings"][0]["message"]
    assert not (settings.store_root / "x").exists()
    assert isinstance(results[after.request_id], FileStored)
    assert not workers.exited(), "no worker process exited"
