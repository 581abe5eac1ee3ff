"""A pids cgroup around a run, where one can be made: RLIMIT_NPROC does not bind root (the
kernel exempts uid 0 from it, in a user namespace too), a cgroup's pids.max binds everyone."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_names = itertools.count()


class PidsCgroup:
    def __init__(self, path: Path) -> None:
        self.path = path
        # Made here: the child that enters runs as little Python as it can between fork and exec.
        self._procs = os.fsencode(path / "cgroup.procs")

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        """A fresh cgroup limited to ``max_pids`` tasks, or None where none can be made."""
        for parent in _pids_parents():
            path = parent / f"codegen-verify-{os.getpid()}-{next(_names)}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_pids))
            except OSError:
                path.rmdir()
                continue
            return cls(path)
        return None

    def enter(self) -> None:
        """Move the calling process in (a ``preexec_fn``: runs in the child before exec)."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, b"%d" % os.getpid())
        finally:
            os.close(fd)

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def close(self, timeout: float = 5.0) -> None:
        """Kill whatever is still inside, wait until it is gone, and remove the cgroup."""
        deadline = time.monotonic() + timeout
        while True:
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.path.rmdir()  # refused while a task, even a dying one, is inside
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.005)


def _pids_parents() -> list[Path]:
    """The worker's own cgroup in the pids hierarchy (v1) or the unified one (v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    parents: list[Path] = []
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        if "pids" in controllers.split(","):
            parents.append(CGROUP_ROOT / "pids" / relative.lstrip("/"))
        elif controllers == "":
            unified = CGROUP_ROOT / relative.lstrip("/")
            if "pids" in _read(unified / "cgroup.subtree_control").split():
                parents.append(unified)
    return parents


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
