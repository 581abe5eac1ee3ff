"""The files derived from the catalogue: ``topics/``, the worker services of
``docker-compose.yml`` and the README's stage table.

``codegen catalogue render`` writes them; ``--check`` (CI) and a unit test fail when the
committed files drift. In the compose file and the README only the text between a region's
two marker lines is rendered; the rest stays as written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline import catalogue
from pipeline.catalogue import StageSpec

COMPOSE = Path("docker-compose.yml")
README = Path("README.md")
TOPICS_DIR = Path("topics")

SERVICE_WORKER_ENVIRONMENT: Mapping[str, str] = {"CODEGEN_METRICS_DIR": "/data/output/.metrics"}
"""What the metrics reducer and the intent executor need beyond every worker's settings."""

SANDBOX_SECURITY = """\
    # bubblewrap creates user, PID and network namespaces: Docker's default seccomp profile
    # and AppArmor forbid that inside a container.
    security_opt:
      - seccomp=unconfined
      - apparmor=unconfined
"""


class DerivedFileError(ValueError):
    """A derived file lacks the marker lines its rendered region goes between."""


@dataclass(frozen=True)
class Region:
    """The lines between ``begin`` and ``end`` (both kept) belong to the renderer."""

    begin: str
    end: str

    def replace(self, text: str, body: str, where: Path) -> str:
        lines = text.splitlines(keepends=True)
        markers = [line.rstrip("\n") for line in lines]
        if markers.count(self.begin) != 1 or markers.count(self.end) != 1:
            raise DerivedFileError(
                f"{where}: needs one line {self.begin!r} and, after it, one line {self.end!r}"
            )
        start, stop = markers.index(self.begin), markers.index(self.end)
        if stop < start:
            raise DerivedFileError(f"{where}: {self.end!r} comes before {self.begin!r}")
        return "".join([*lines[: start + 1], body, *lines[stop:]])


COMPOSE_WORKERS = Region(
    "  # BEGIN workers: rendered from pipeline/catalogue.py by `codegen catalogue render`",
    "  # END workers",
)
README_STAGES = Region(
    "<!-- BEGIN stage table: rendered from pipeline/catalogue.py by `codegen catalogue render` -->",
    "<!-- END stage table -->",
)


def compose_services(specs: Iterable[StageSpec] | None = None) -> str:
    """One service per stage, then the metrics reducer's and the intent executor's."""
    stages = catalogue.STAGE_SPECS.values() if specs is None else specs
    blocks = [
        _service(
            spec.name,
            {name: f"${{{name}:-}}" for name in spec.host_environment},
            sandboxed=spec.sandboxed,
        )
        for spec in stages
    ]
    blocks += [_service(name, SERVICE_WORKER_ENVIRONMENT) for name in catalogue.SERVICE_WORKERS]
    return "".join(blocks)


def _service(name: str, environment: Mapping[str, str], *, sandboxed: bool = False) -> str:
    text = f'  {name}:\n    <<: *worker\n    command: ["worker", "{name}"]\n'
    if environment:
        # A merge key replaces a mapping whole: the worker's own settings are merged back in.
        text += "    environment:\n      <<: *worker-environment\n"
        text += "".join(f"      {key}: {value}\n" for key, value in environment.items())
    if sandboxed:
        text += SANDBOX_SECURITY
    return text


def stage_table(specs: Iterable[StageSpec] | None = None) -> str:
    stages = catalogue.STAGE_SPECS.values() if specs is None else specs
    rows = ["| stage | reads | writes | what it does |\n", "|---|---|---|---|\n"]
    for spec in stages:
        reads = ", ".join(f"`{topic}`" for topic in spec.inputs)
        writes = ", ".join(f"`{topic}`" for topic in (spec.output, *spec.routed_outputs))
        rows.append(f"| {spec.name} | {reads} | {writes} | {spec.summary} |\n")
    return "".join(rows)


def rendered(root: Path) -> dict[Path, str]:
    """Every derived file below ``root`` as it should read (the compose file and the README
    with their regions rendered, the rest of their text as it is)."""
    files = {
        root / TOPICS_DIR / relative: text for relative, text in catalogue.rendered_files().items()
    }
    for path, region, body in (
        (root / COMPOSE, COMPOSE_WORKERS, compose_services()),
        (root / README, README_STAGES, stage_table()),
    ):
        if not path.is_file():
            raise DerivedFileError(f"{path}: not found (render from the project's root)")
        files[path] = region.replace(path.read_text(encoding="utf-8"), body, path)
    return files


def drift(root: Path) -> dict[Path, str]:
    """A unified diff per derived file that differs from what the catalogue renders."""
    diffs: dict[Path, str] = {}
    for path, expected in rendered(root).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        if current != expected:
            diffs[path] = "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    f"{path} (committed)",
                    f"{path} (rendered)",
                )
            )
    return diffs


def render(root: Path) -> list[Path]:
    """Write every derived file that drifted; the paths written."""
    written: list[Path] = []
    for path, expected in rendered(root).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected, encoding="utf-8")
            written.append(path)
    return written
