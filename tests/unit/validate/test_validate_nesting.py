"""The defs around a span, found through the nesting, are those a scan of every def finds."""

from __future__ import annotations

import ast
import inspect

import pytest

from pipeline.stages.validate import validator
from pipeline.stages.validate.type_hints import FunctionInfo, iter_functions


def _scanned(functions: list[FunctionInfo], first: int, last: int) -> set[int]:
    return {
        id(info)
        for info in functions
        if info.node.lineno <= first and last <= (info.node.end_lineno or info.node.lineno)
    }


@pytest.mark.parametrize("module", [ast, inspect, validator], ids=lambda m: m.__name__)
def test_enclosing_defs_match_a_scan_of_every_def(module: object) -> None:
    source = inspect.getsource(module)  # type: ignore[arg-type]
    functions = iter_functions(ast.parse(source))
    nesting = validator._Nesting(functions)
    lines = source.count("\n")
    for first in range(1, lines + 1, 7):
        for last in (first, first + 1, first + 5):
            found = {id(info) for info in nesting.enclosing(first, last)}
            assert found == _scanned(functions, first, last), (first, last)
