"""``codegen up`` supervises: a worker killed with SIGKILL is restarted (and it says so), and
SIGTERM to ``codegen up`` stops every worker, as Ctrl-C does. Real processes, real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.catalogue import WORKERS
from pipeline.settings import Settings
from tests.fixtures import ROOT, settings_env

pytestmark = pytest.mark.integration

DRAIN_SECONDS = 3


class Up:
    """``codegen up`` in its own process group, its output collected line by line."""

    def __init__(self, settings: Settings, counts: dict[str, int]) -> None:
        scale = [f"--scale={name}={counts.get(name, 0)}" for name in WORKERS]
        env = {
            **os.environ,
            **settings_env(settings),
            "CODEGEN_DRAIN_SECONDS": str(DRAIN_SECONDS),
            "COLUMNS": "200",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "up", *scale],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, starts: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(starts):
                    return line
            time.sleep(0.2)
        raise AssertionError(f"no line starting {starts!r} in {self.lines}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture
def up() -> Iterator[Callable[[Settings, dict[str, int]], Up]]:
    started: list[Up] = []

    def start(settings: Settings, counts: dict[str, int]) -> Up:
        started.append(Up(settings, counts))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def test_a_killed_worker_is_restarted_and_sigterm_stops_every_worker(
    pipeline_settings: Settings, up: Callable[[Settings, dict[str, int]], Up]
) -> None:
    running = up(pipeline_settings, {"store": 1, "inject": 1})
    wait_for(lambda: len(children(running.process.pid)) == 2, 60, "two workers start")
    running.wait_for_line("workers: ")
    store = next(
        pid
        for pid in children(running.process.pid)
        if "store" in Path(f"/proc/{pid}/cmdline").read_text()
    )
    os.kill(store, signal.SIGKILL)

    exited = running.wait_for_line("worker store-0 exited with -9 after ")
    assert exited.endswith("restarting it in 1 s"), exited
    restarted = running.wait_for_line("worker store-0 restarted (pid ")
    fresh = int(restarted.rsplit("pid ", 1)[1].rstrip(")"))
    assert fresh != store and alive(fresh)
    assert fresh in children(running.process.pid)
    workers = children(running.process.pid)
    assert len(workers) == 2

    started = time.monotonic()
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=60) == 0
    took = time.monotonic() - started
    running.wait_for_line("SIGTERM: stopping the workers")
    assert not [pid for pid in workers if alive(pid)], "no worker is left running"
    assert (
        took
        < pipeline_settings.model_copy(update={"drain_seconds": DRAIN_SECONDS}).stop_deadline + 5
    ), took
