"""The README's shell examples, as written, for tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
LOCAL_BROKER = "127.0.0.1:9092"
TOPIC_PREFIX = "codegen."

_BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shell_examples(containing: str) -> list[str]:
    """The README's ```bash blocks that mention ``containing``."""
    return [b for b in _BASH_BLOCK.findall(README.read_text(encoding="utf-8")) if containing in b]


def commands(block: str) -> list[str]:
    """The block's commands: continued lines (``\\``) joined, one command per item."""
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]


def kcat_example() -> tuple[str, str]:
    """The README's kcat example: the publishing pipeline and the reading command."""
    (block,) = shell_examples("kcat -P")
    publish, read = commands(block)
    return publish, read


def on(command: str, bootstrap: str, prefix: str) -> str:
    """``command`` aimed at another broker and topic prefix (the example's own: the local
    broker, ``codegen.``)."""
    return command.replace(LOCAL_BROKER, bootstrap).replace(f"-t {TOPIC_PREFIX}", f"-t {prefix}")


def jq_part(publish: str) -> str:
    """The pipeline's first command, which writes the request."""
    return publish.split(" | ", 1)[0]
