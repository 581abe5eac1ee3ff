"""Source text with line access, and the constructor every checker uses."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from functools import cached_property

from pipeline.models.findings import Finding, Severity
from pipeline.stages.inject.text import SourceLines

MAX_SNIPPET_LINES = 5


@dataclass(frozen=True)
class SourceText:
    """A module's text, split once into lines (1-based access)."""

    text: str
    filename: str = "<module>"
    lines: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.text.splitlines()))

    @cached_property
    def _numbered(self) -> SourceLines:
        return SourceLines(self.text)

    def segment(self, node: ast.AST) -> str | None:
        """``ast.get_source_segment`` without splitting the whole text on every call."""
        lineno, end_lineno = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or col is None or end_col is None:
            return None
        lines = self._numbered
        if lineno == end_lineno:
            return lines.line(lineno).encode()[col:end_col].decode()
        first = lines.line(lineno).encode()[col:].decode()
        last = lines.line(end_lineno).encode()[:end_col].decode()
        return "".join([first, *lines.lines[lineno : end_lineno - 1], last])

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
