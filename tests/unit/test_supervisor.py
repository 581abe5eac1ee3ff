"""The supervisor restarts workers that exit, after a backoff that grows while they keep
dying; real (short-lived) processes stand in for the workers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping

import pytest

from pipeline.workers.supervisor import Supervisor


def exits_at_once(stage: str, env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    supervisor = Supervisor({"store": 1}, spawn=exits_at_once, backoff_initial=1.0, backoff_max=4.0)
    supervisor.start()
    yield supervisor
    supervisor.stop(timeout=5)


def dead(supervisor: Supervisor) -> None:
    supervisor.workers[0].process.wait(10)


def test_a_worker_that_keeps_dying_is_restarted_ever_later(supervisor: Supervisor) -> None:
    delays = []
    pids = [supervisor.workers[0].process.pid]
    for _ in range(4):
        dead(supervisor)
        now = time.monotonic()
        (note,) = supervisor.supervise(now)
        assert note.startswith("worker store-0 exited with 3 after ")
        delays.append(float(note.rsplit(" in ", 1)[1].removesuffix(" s")))
        assert supervisor.supervise(now + delays[-1] - 0.01) == [], "not before its time"
        (restarted,) = supervisor.supervise(now + delays[-1])
        pids.append(supervisor.workers[0].process.pid)
        assert restarted == f"worker store-0 restarted (pid {pids[-1]})"
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert len(set(pids)) == len(pids), "a new process each time"


def test_a_worker_that_ran_for_a_while_is_restarted_soon_again(supervisor: Supervisor) -> None:
    for _ in range(3):
        dead(supervisor)
        now = time.monotonic()
        supervisor.supervise(now)
        supervisor.supervise(now + 10)
    dead(supervisor)
    later = supervisor.workers[0].started_at + supervisor.stable_after
    (note,) = supervisor.supervise(later)
    assert note.endswith("restarting it in 1 s")
