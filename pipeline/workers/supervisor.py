"""Running every stage worker as its own OS process, for local use.

``supervise`` is what ``codegen up`` runs: a worker that exits is started again after a
backoff (1 s, doubling up to 30 s, back to 1 s once a worker has run for a minute), and
each exit and restart is reported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.catalogue import worker_names


@dataclass
class WorkerProcess:
    stage: str
    index: int
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0
    """Restarts in a row without a stable run in between (they set the backoff)."""

    @property
    def name(self) -> str:
        return f"{self.stage}-{self.index}"


@dataclass
class Supervisor:
    """Starts ``count`` worker processes per stage; stops them all on ``stop()``."""

    counts: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(worker_names(), 1))
    env: Mapping[str, str] | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    stable_after: float = 60.0
    """A worker that ran this long before exiting is restarted after ``backoff_initial``."""
    spawn: Callable[[str, Mapping[str, str] | None], subprocess.Popen[bytes]] = field(
        default=lambda stage, env: spawn_worker(stage, env), repr=False
    )
    _due: dict[int, float] = field(default_factory=dict)  # id(worker) -> restart time

    def start(self) -> None:
        for stage, count in self.counts.items():
            for index in range(count):
                self.workers.append(WorkerProcess(stage, index, self.spawn(stage, self.env)))

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
        fresh = WorkerProcess(worker.stage, worker.index, self.spawn(worker.stage, self.env))
        self.workers[self.workers.index(worker)] = fresh
        return fresh

    def supervise(self, now: float | None = None) -> list[str]:
        """Schedule a restart of every worker that exited, start those that are due; say
        what happened, one line each. Call it every second or so."""
        now = time.monotonic() if now is None else now
        notes: list[str] = []
        for worker in self.exited():
            due = self._due.get(id(worker))
            if due is None:
                ran = now - worker.started_at
                restarts = 0 if ran >= self.stable_after else worker.restarts
                delay = min(self.backoff_initial * 2**restarts, self.backoff_max)
                worker.restarts = restarts + 1
                self._due[id(worker)] = now + delay
                notes.append(
                    f"worker {worker.name} exited with {worker.process.returncode} after "
                    f"{ran:.0f} s; restarting it in {delay:g} s"
                )
            elif now >= due:
                del self._due[id(worker)]
                fresh = self.replace(worker)
                fresh.restarts = worker.restarts
                notes.append(f"worker {fresh.name} restarted (pid {fresh.process.pid})")
        return notes

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
    counts = dict.fromkeys(worker_names(), default)
    for spec in specs:
        stage, _, number = spec.partition("=")
        if stage not in counts or not number.isdigit() or int(number) < 0:
            raise ValueError(f"expected NAME=COUNT with a name of {', '.join(counts)}: {spec!r}")
        counts[stage] = int(number)
    return counts
