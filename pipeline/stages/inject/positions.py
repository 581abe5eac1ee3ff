"""Render a module and note the lines of chosen statements, in the same single pass.

libcst's ``PositionProvider`` computes the position of every node of the module, which costs
more than parsing it; the inject stage needs the lines of two statements per body. This hooks
the code generator instead (``CodegenState`` is the class ``Module.code_for_node`` renders
with; libcst is pinned, and the tests check the lines against ``PositionProvider``).
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst._nodes.internal import CodegenState


class _LineNotingState(CodegenState):
    def __init__(
        self, module: cst.Module, starts: Iterable[cst.CSTNode], ends: Iterable[cst.CSTNode]
    ) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self._starts = {id(node) for node in starts}
        self._ends = {id(node) for node in ends}
        self.start_lines: dict[int, int] = {}
        self.end_lines: dict[int, int] = {}
        self._counted = 0
        self._breaks = 0

    def _line_breaks(self) -> int:
        """How many line breaks were written so far."""
        tokens = self.tokens
        if self._counted < len(tokens):
            text = "".join(tokens[self._counted :])
            self._breaks += text.count("\n") + text.count("\r") - text.count("\r\n")
            self._counted = len(tokens)
        return self._breaks

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self._starts:
            self.start_lines[id(node)] = self._line_breaks() + 1

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self._ends:
            self.end_lines[id(node)] = self._line_breaks()


def render_noting_lines(
    module: cst.Module, starts: Iterable[cst.CSTNode], ends: Iterable[cst.CSTNode]
) -> tuple[str, dict[int, int], dict[int, int]]:
    """``module.code``; the line (1-based) where each of ``starts`` begins, including its
    leading lines; the last line of each of ``ends``. Both by ``id()`` of the node."""
    state = _LineNotingState(module, starts, ends)
    module._codegen(state)
    return "".join(state.tokens), state.start_lines, state.end_lines
