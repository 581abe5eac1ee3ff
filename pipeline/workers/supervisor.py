"""Running every stage worker as its own OS process, for local use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.catalogue import WORKERS


@dataclass
class WorkerProcess:
    stage: str
    index: int
    process: subprocess.Popen[bytes]

    @property
    def name(self) -> str:
        return f"{self.stage}-{self.index}"


@dataclass
class Supervisor:
    """Starts ``count`` worker processes per stage; stops them all on ``stop()``."""

    counts: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(WORKERS, 1))
    env: Mapping[str, str] | None = None
    workers: list[WorkerProcess] = field(default_factory=list)

    def start(self) -> None:
        for stage, count in self.counts.items():
            for index in range(count):
                self.workers.append(WorkerProcess(stage, index, spawn_worker(stage, self.env)))

    def exited(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w.process.poll() is not None]

    def respawn_exited(self) -> list[WorkerProcess]:
        """Start again every worker that has exited (a restart policy); return the dead ones."""
        dead = self.exited()
        for worker in dead:
            self.replace(worker)
        return dead

    def replace(self, worker: WorkerProcess) -> WorkerProcess:
        """Kill ``worker`` if it still runs and start a new process in its place."""
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.wait()
        fresh = WorkerProcess(worker.stage, worker.index, spawn_worker(worker.stage, self.env))
        self.workers[self.workers.index(worker)] = fresh
        return fresh

    def stop(self, timeout: float = 20.0) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                worker.process.wait(remaining)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


def spawn_worker(stage: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "worker", stage],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def parse_counts(specs: Iterable[str], default: int = 1) -> dict[str, int]:
    """``["generate=4"]`` → every worker once, generate four times."""
    counts = dict.fromkeys(WORKERS, default)
    for spec in specs:
        stage, _, number = spec.partition("=")
        if stage not in counts or not number.isdigit() or int(number) < 0:
            raise ValueError(f"expected NAME=COUNT with a name of {', '.join(WORKERS)}: {spec!r}")
        counts[stage] = int(number)
    return counts
