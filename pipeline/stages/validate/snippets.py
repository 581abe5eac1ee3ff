"""Source text with line access, and the constructor every checker uses."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from pipeline.models.findings import Finding, Severity

MAX_SNIPPET_LINES = 5


@dataclass(frozen=True)
class SourceText:
    """A module's text, split once into lines (1-based access)."""

    text: str
    filename: str = "<module>"
    lines: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.text.splitlines()))

    def snippet(self, line: int, end_line: int | None = None) -> str:
        """The offending line(s), dedented; at most ``MAX_SNIPPET_LINES``."""
        if line < 1 or line > len(self.lines):
            return ""
        last = max(line, end_line or line)
        last = min(last, len(self.lines), line + MAX_SNIPPET_LINES - 1)
        chunk = "\n".join(self.lines[line - 1 : last])
        return textwrap.dedent(chunk).strip("\n")

    def finding(
        self,
        *,
        rule: str,
        code: str,
        severity: Severity,
        line: int,
        column: int = 0,
        message: str,
        end_line: int | None = None,
        suggestion: str | None = None,
    ) -> Finding:
        return Finding(
            rule=rule,
            code=code,
            severity=severity,
            line=line,
            column=max(column, 0),
            message=message,
            snippet=self.snippet(line, end_line),
            suggestion=suggestion,
        )
