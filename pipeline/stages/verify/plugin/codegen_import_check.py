"""Imports the module under test inside the sandbox (when a request has no tests) and writes
the outcome as the report plugin would."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import traceback


def load(path: str) -> None:
    parts = path[: -len(".py")].split("/")
    if all(part.isidentifier() for part in parts) and not _shadowed(parts[0]):
        importlib.import_module(".".join(parts))
        return
    # Not importable by its dotted name (a part is no identifier, or the top package is a
    # module the interpreter already holds, e.g. ``types/ports.py``): load the file itself,
    # under a name that cannot replace a module already loaded.
    name = parts[-1] if parts[-1] not in sys.modules else f"_codegen_checked_{parts[-1]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses look it up there
    spec.loader.exec_module(module)


def _shadowed(top: str) -> bool:
    """``top`` names a module loaded from outside the work directory (``types``, ``os``)."""
    module = sys.modules.get(top)
    if module is None:
        return False
    origin = getattr(module, "__file__", None)
    return origin is None or not os.path.abspath(origin).startswith(os.getcwd() + os.sep)


def main() -> int:
    path = sys.argv[1]
    entry: dict[str, object] = {"nodeid": f"import {path}", "when": "call", "outcome": "passed"}
    try:
        load(path)
    except BaseException as error:  # report whatever the import raised, SystemExit included
        frames = [[f.filename, f.lineno, f.name] for f in traceback.extract_tb(error.__traceback__)]
        entry |= {
            "outcome": "failed",
            "exception": type(error).__name__,
            "message": "".join(traceback.format_exception_only(error)).strip(),
            "frames": frames,
            "longrepr": "".join(traceback.format_exception(error))[-4000:],
        }
    with open(os.environ["CODEGEN_VERIFY_REPORT"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
    return 0 if entry["outcome"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
