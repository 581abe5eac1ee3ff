"""A loose guard on the validate stage's speed (target: 30 ms median).

The time measured is the CPU time of validate_bodies minus that of the
inject stage it calls (another stage's cost), and the bound is generous so
that a loaded test machine does not fail it; it still catches a checker
that re-loads bandit's plugins (about 150 ms) or a quadratic walk.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from pipeline.stages.inject import inject_bodies
from pipeline.stages.validate import validate_bodies
from pipeline.stages.validate.security import warm_up

CLASSES = 10
GENEROUS_BOUND_SECONDS = 0.1


def _class(index: int) -> str:
    return f'''

class Service{index}:
    """Service number {index}."""

    def __init__(self, root: Path, name: str = "service{index}") -> None:
        self.root = root
        self.name = name
        self.cache: dict[str, object] = {{}}

    def path_for(self, key: str) -> Path:
        """Where a key is stored."""
        safe = re.sub(r"[^a-z0-9_]", "_", key.lower())
        return self.root / self.name / f"{{safe}}.json"

    def read(self, key: str) -> object:
        if key in self.cache:
            return self.cache[key]
        path = self.path_for(key)
        with path.open(encoding="utf-8") as handle:
            value = json.load(handle)
        self.cache[key] = value
        return value

    def write(self, key: str, value: object) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(value, indent=2, sort_keys=True)
        path.write_text(text, encoding="utf-8")
        self.cache[key] = value

    def keys(self) -> list[str]:
        folder = self.root / self.name
        if not folder.exists():
            return []
        return sorted(item.stem for item in folder.glob("*.json"))

    def remove(self, key: str) -> bool:
        """Delete a key; tell whether it existed."""
        path = self.path_for(key)
        self.cache.pop(key, None)
        if not path.exists():
            return False
        path.unlink()
        return True

    def summarise(self, prefix: str, limit: int = 10) -> dict[str, int]:
        """Count the stored values whose key starts with the prefix."""
        raise NotImplementedError
'''


def sample_module() -> tuple[str, dict[str, str]]:
    """About 500 lines, ten stubs, ten generated bodies."""
    header = (
        '"""Services."""\n\nfrom __future__ import annotations\n\n'
        "import json\nimport os\nimport re\nfrom pathlib import Path\n"
    )
    source = header + "".join(_class(index) for index in range(CLASSES))
    body = (
        "counts: dict[str, int] = {}\n"
        "for key in self.keys():\n"
        "    if not key.startswith(prefix):\n"
        "        continue\n"
        "    value = self.read(key)\n"
        "    counts[key] = len(value) if isinstance(value, list | dict) else 1\n"
        "    if len(counts) >= limit:\n"
        "        break\n"
        "return counts\n"
    )
    bodies = {f"Service{index}.summarise": body for index in range(CLASSES)}
    return source, bodies


def median_cpu_seconds(action: Callable[[], object], runs: int = 5) -> float:
    action()
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times)


def test_sample_module_is_about_500_lines_and_clean() -> None:
    source, bodies = sample_module()
    assert 450 <= len(source.splitlines()) <= 560
    assert validate_bodies(source, bodies).findings == []


def test_validate_bodies_is_fast() -> None:
    warm_up()
    source, bodies = sample_module()
    total = median_cpu_seconds(lambda: validate_bodies(source, bodies))
    injecting = median_cpu_seconds(lambda: inject_bodies(source, bodies))
    assert total - injecting < GENEROUS_BOUND_SECONDS
