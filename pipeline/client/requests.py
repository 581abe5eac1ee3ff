"""Building a GenerationRequest from files on disk."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.errors import InvalidRequestError
from pipeline.records import GenerationRequest

BODIES_SUFFIX = ".bodies.json"


def find_bodies_file(source: Path) -> Path | None:
    """``NAME.bodies.json`` beside ``NAME.py``, when it exists."""
    candidate = source.with_name(source.stem + BODIES_SUFFIX)
    return candidate if candidate.is_file() else None


def load_bodies(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"cannot read bodies from {path}: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidRequestError(
            f"{path} must be a JSON object mapping qualified names to code strings"
        )
    return data


def build_request(
    source: Path,
    *,
    bodies: Path | None = None,
    output_path: str | None = None,
    generator: str | None = None,
    strict: bool = False,
) -> GenerationRequest:
    """A request for ``source``; bodies default to the ``NAME.bodies.json`` beside it."""
    try:
        # newline="" keeps CRLF line endings as they are.
        with source.open(encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read {source}: {exc}") from None
    bodies_file = bodies or find_bodies_file(source)
    provided = load_bodies(bodies_file) if bodies_file else {}
    return GenerationRequest(
        source=text,
        output_path=output_path or source.name,
        generator=generator or ("provided" if bodies_file else "openai"),
        bodies=provided,
        strict=strict,
    )
