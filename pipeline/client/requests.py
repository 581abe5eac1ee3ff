"""Building a GenerationRequest from files on disk."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.errors import InvalidRequestError
from pipeline.records import GenerationRequest

BODIES_SUFFIX = ".bodies.json"
TESTS_SUFFIX = ".tests"
TESTS_PREFIX = "tests/"  # where a module's test files go in the verify stage's work folder


def find_bodies_file(source: Path) -> Path | None:
    """``NAME.bodies.json`` beside ``NAME.py``, when it exists."""
    candidate = source.with_name(source.stem + BODIES_SUFFIX)
    return candidate if candidate.is_file() else None


def find_tests_dir(source: Path) -> Path | None:
    """``NAME.tests/`` beside ``NAME.py``, when it exists."""
    candidate = source.with_name(source.stem + TESTS_SUFFIX)
    return candidate if candidate.is_dir() else None


def is_test_file(path: Path) -> bool:
    """Whether ``path`` lies in a ``NAME.tests/`` folder (a module's tests, not a module)."""
    return any(part.endswith(TESTS_SUFFIX) for part in path.parent.parts)


def load_attempt_bodies(path: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The bodies of the first attempt and of later ones: a name maps to its code, or to a
    list of codes, one per attempt (the provided generator's repairs, as in the demo)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"cannot read bodies from {path}: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str)
        and (
            isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(c, str) for c in v))
        )
        for k, v in data.items()
    ):
        raise InvalidRequestError(
            f"{path} must be a JSON object mapping qualified names to code strings "
            "(or to non-empty lists of them, one per attempt)"
        )
    first = {name: code if isinstance(code, str) else code[0] for name, code in data.items()}
    depth = max((len(code) for code in data.values() if isinstance(code, list)), default=1)
    later = [
        {
            name: code[attempt]
            for name, code in data.items()
            if isinstance(code, list) and attempt < len(code)
        }
        for attempt in range(1, depth)
    ]
    return first, later


def load_folder(directory: Path, prefix: str = "") -> dict[str, str]:
    """Every file under ``directory``, as ``<prefix><relative path>`` → text."""
    tests: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(directory).as_posix()
            try:
                tests[f"{prefix}{relative}"] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidRequestError(f"cannot read {path}: {exc}") from None
    return tests


def build_request(
    source: Path,
    *,
    bodies: Path | None = None,
    output_path: str | None = None,
    generator: str | None = None,
    strict: bool = False,
    tests: Path | None = None,
) -> GenerationRequest:
    """A request for ``source``; bodies default to the ``NAME.bodies.json`` beside it, tests
    to the files in ``NAME.tests/`` beside it."""
    try:
        # newline="" keeps CRLF line endings as they are.
        with source.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read {source}: {exc}") from None
    bodies_file = bodies or find_bodies_file(source)
    provided, later = load_attempt_bodies(bodies_file) if bodies_file else ({}, [])
    tests_dir = tests or find_tests_dir(source)
    return GenerationRequest(
        source=text,
        output_path=output_path or source.name,
        generator=generator or ("provided" if bodies_file else "openai"),
        bodies=provided,
        later_bodies=later,
        strict=strict,
        tests=load_folder(tests_dir, TESTS_PREFIX) if tests_dir else {},
    )
