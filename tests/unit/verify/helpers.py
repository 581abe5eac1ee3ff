"""Running code under test in the real sandbox, with small limits so each case is quick."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from pipeline.models import VerificationReport
from pipeline.stages.verify import Limits, SandboxOptions, VerifyTask, verify_module

MIB = 1024 * 1024
SMALL_LIMITS = Limits(
    wall_seconds=5.0,
    cpu_seconds=5,
    memory_bytes=256 * MIB,
    processes=32,
    file_bytes=1 * MIB,
    output_bytes=1 * MIB,
    tmp_bytes=16 * MIB,
)
SMALL = SandboxOptions(limits=SMALL_LIMITS)


def run_module(
    module: str,
    test: str,
    *,
    options: SandboxOptions = SMALL,
    module_path: str = "attack.py",
    test_command: str | None = None,
) -> VerificationReport:
    """``module`` as the filled module (its functions' bodies as the generated ones) and
    ``test`` as ``tests/test_attack.py``."""
    source = textwrap.dedent(module)
    return verify_module(
        VerifyTask(
            source=source,
            module_path=module_path,
            tests={"tests/test_attack.py": textwrap.dedent(test)},
            body_lines=every_body(source),
            test_command=test_command,
        ),
        options,
    )


def every_body(source: str) -> dict[str, tuple[int, int]]:
    """Each top-level function's body lines, as inject would record them."""
    import ast

    tree = ast.parse(source)
    return {
        node.name: (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def processes_with(marker: str) -> list[int]:
    """Processes of this machine whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def codes(report: VerificationReport) -> list[str]:
    return [finding.code for finding in report.findings]
