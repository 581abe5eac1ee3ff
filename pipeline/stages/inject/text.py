"""The lines of a module's text, numbered as ``ast`` and libcst number them.

A line ends at ``\\r\\n``, ``\\r`` or ``\\n`` (not at the other characters ``str.splitlines``
breaks at, such as a form feed).
"""

from __future__ import annotations

import ast
import bisect
import re

from pipeline.stages.syntax_tree import blocks

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NEWLINE = re.compile(r"\r\n?|\n")


class SourceLines:
    """Line texts (with their line breaks) and where each line starts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = _LINE.findall(source)
        starts = [0]
        for line in self.lines:
            starts.append(starts[-1] + len(line))
        self._starts = starts

    def line(self, number: int) -> str:
        """Line ``number`` (1-based); "" past the end."""
        return self.lines[number - 1] if number <= len(self.lines) else ""

    def offset(self, number: int) -> int:
        """Where line ``number`` starts; the end of the text for the line after the last."""
        return self._starts[min(number, len(self.lines) + 1) - 1]

    def line_at(self, offset: int) -> int:
        """The line (1-based) that ``offset`` is in."""
        return bisect.bisect_right(self._starts, offset)

    def indentation(self, number: int) -> str:
        line = self.line(number)
        return line[: len(line) - len(line.lstrip(" \t\f"))]


def default_newline(source: str) -> str:
    """The first line break of the text, as libcst detects the default newline."""
    match = _NEWLINE.search(source)
    return match.group(0) if match is not None else "\n"


def default_indent(tree: ast.Module, text: SourceLines) -> str:
    """The indentation of the first indented logical line, as libcst detects the default
    indentation (from the first INDENT token); four spaces when nothing is indented."""
    found = _first_indented(tree.body, text)
    return "    " if found is None else found


def _first_indented(statements: list[ast.stmt], text: SourceLines) -> str | None:
    for node in statements:
        indent = text.indentation(node.lineno)
        if indent and len(indent) == node.col_offset:
            return indent
        if isinstance(node, ast.Match):
            for case in node.cases:
                line = case.pattern.lineno
                if text.line(line).lstrip(" \t\f").startswith("case"):
                    indent = text.indentation(line)
                    if indent:
                        return indent
                found = _first_indented(case.body, text)
                if found is not None:
                    return found
            continue
        for block in blocks(node):
            found = _first_indented(block, text)
            if found is not None:
                return found
    return None
