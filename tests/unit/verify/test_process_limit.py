"""RLIMIT_NPROC, set inside the sandbox after its user namespace exists, counts the sandbox's
own processes only: a worker user with many processes elsewhere still gets its full quota.

Run as another user than root (the kernel exempts root from RLIMIT_NPROC; the runner then uses
a pids cgroup, which the fork bomb tests cover), with the system's interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pipeline.stages.verify.bwrap import PLUGIN_SOURCE, bwrap_arguments, find_bwrap
from pipeline.stages.verify.runner import LIMITS_WRAPPER

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"
FORKS = """
import os, time
count = 0
try:
    for _ in range(100):
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        count += 1
except OSError as error:
    print("limited after", count, error.errno)
"""


def as_nobody() -> None:
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SYSTEM_PYTHON).exists(),
    reason="needs root to run as another user, and the system's python3",
)
def test_the_process_limit_counts_only_the_sandbox() -> None:
    with tempfile.TemporaryDirectory(prefix="codegen-nproc-") as workdir:
        Path(workdir).chmod(0o777)  # pytest's own temporary folders are root's alone
        run_forks_as_nobody(Path(workdir))


def run_forks_as_nobody(workdir: Path) -> None:
    bwrap = find_bwrap()
    assert bwrap is not None
    argv = bwrap_arguments(
        bwrap,
        workdir=workdir,
        plugin_dir=PLUGIN_SOURCE,
        python=SYSTEM_PYTHON,
        env={"PATH": "/usr/bin"},
        tmp_bytes=1 << 20,
    )
    limits = f"{1 << 30},10,{1 << 20},20,64"  # memory, cpu, file size, processes, files
    command = [*argv, SYSTEM_PYTHON, "-I", "-S", "-c", LIMITS_WRAPPER, limits]
    command += [SYSTEM_PYTHON, "-c", FORKS]
    # More processes of the same user outside than the limit allows inside.
    others = [subprocess.Popen(["sleep", "30"], preexec_fn=as_nobody) for _ in range(30)]
    try:
        run = subprocess.run(
            command, preexec_fn=as_nobody, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        for process in others:
            process.kill()
            process.wait()
    assert run.returncode == 0, run.stderr
    # bwrap's init and the interpreter are two of the twenty.
    assert run.stdout.strip() == "limited after 18 11", (run.stdout, run.stderr, sys.platform)
