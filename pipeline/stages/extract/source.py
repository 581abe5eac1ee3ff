"""Exact source text behind ``ast`` positions.

``ast`` reports 1-based lines and 0-based columns counted in UTF-8 bytes; this
module slices the original text with them and converts columns to characters,
the unit libcst's ``PositionProvider`` (and :class:`SourceSpan`) uses.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

from pipeline.models.stubs import SourceSpan

Position = tuple[int, int]
"""(line, column): 1-based line, 0-based UTF-8 byte column, as ``ast`` reports them."""


class SourceText:
    """A module's text with line offsets, addressed by ``ast`` positions."""

    __slots__ = ("data", "line_count", "starts")

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        # starts[i] is where line i + 1 begins; the final entry is the end of the text.
        # bytes.splitlines breaks at \r\n, \r and \n only, as the Python tokenizer does
        # (str.splitlines would also break at \f, \v, \x1c and more).
        self.starts = [0, *accumulate(map(len, self.data.splitlines(keepends=True)))]
        self.line_count = len(self.starts) - 1

    def offset(self, line: int, column: int) -> int:
        """The byte offset of an ``ast`` position."""
        return self.starts[line - 1] + column

    def start_of(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def end_of(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def line_of(self, offset: int) -> int:
        """The 1-based line holding a byte offset."""
        return bisect_right(self.starts, offset, hi=self.line_count)

    def slice(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")

    def segment(self, node: ast.AST) -> str:
        """The exact source text of a node that has positions."""
        return self.slice(self.start_of(node), self.end_of(node))

    def line(self, line: int) -> bytes:
        """One line's bytes, including its line break."""
        return self.data[self.starts[line - 1] : self.starts[line]]

    def char_column(self, line: int, column: int) -> int:
        """Convert a byte column to a character column."""
        start = self.starts[line - 1]
        return len(self.data[start : start + column].decode("utf-8"))

    def byte_column(self, line: int, char_column: int) -> int:
        """Convert a character column to a byte column."""
        return len(self.line(line).decode("utf-8")[:char_column].encode("utf-8"))

    def span(self, node: ast.stmt) -> SourceSpan:
        """A statement's extent as libcst's ``PositionProvider`` reports it: from its first
        token (``def``/``async``/``class``, after any decorators) to the end of its last
        statement, in characters."""
        end_line = node.end_lineno or node.lineno
        return SourceSpan(
            start_line=node.lineno,
            start_column=self.char_column(node.lineno, node.col_offset),
            end_line=end_line,
            end_column=self.char_column(end_line, node.end_col_offset or 0),
        )

    def readline(self, first: int, last: int) -> Iterator[str]:
        """Lines ``first..last`` as text for :mod:`tokenize`, each ending in ``\\n``."""
        for number in range(first, last + 1):
            text = self.line(number).decode("utf-8")
            stripped = text.rstrip("\r\n")
            yield stripped + "\n" if stripped != text else text
