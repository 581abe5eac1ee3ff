"""The inject stage: put generated bodies into a module's functions, keeping all else as is.

``inject_bodies(source, {qualified_name: code})`` finds the functions with ``ast``, parses each
function's text and each body once with libcst, replaces the bodies and splices the new
function texts into the module text (see ``splice``). A module that way does not handle goes
the whole-module way: parsed once with libcst, all the bodies replaced in one pass, rendered
once. See ``transform`` for what is replaced and what is kept, ``body`` for the forms of
generated code accepted, and ``imports`` for where the imports the generated code starts with
go.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from pipeline.stages.inject.body import parse_body, syntax_error_location
from pipeline.stages.inject.errors import InjectError
from pipeline.stages.inject.locate import DefIndex
from pipeline.stages.inject.models import InjectionResult
from pipeline.stages.inject.positions import render_noting_lines
from pipeline.stages.inject.splice import inject_spliced
from pipeline.stages.inject.transform import BodyInjector

__all__ = ["InjectError", "InjectionResult", "inject_bodies"]


def inject_bodies(source: str, bodies: Mapping[str, str]) -> InjectionResult:
    """Replace the body of each function named in ``bodies`` with its generated code.

    Raises ``InjectError`` (``SOURCE_SYNTAX_ERROR``, ``NAME_NOT_FOUND``, ``AMBIGUOUS_NAME``,
    ``OVERLAPPING_TARGETS``, ``BODY_SYNTAX_ERROR``).
    """
    spliced = inject_spliced(source, bodies)
    if spliced is not None:
        return spliced
    return inject_whole_module(source, bodies)


def inject_whole_module(source: str, bodies: Mapping[str, str]) -> InjectionResult:
    """``inject_bodies`` with libcst parsing and rendering the whole module."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        line, reason = syntax_error_location(source, error)
        raise InjectError(
            f"the module does not parse: line {line}: {reason}",
            code=InjectError.SOURCE_SYNTAX_ERROR,
            line=line,
            reason=reason,
        ) from error
    index = DefIndex()
    module.visit(index)
    targets = index.find(bodies)
    parsed = {
        name: parse_body(code, qualified_name=name, newline=module.default_newline)
        for name, code in bodies.items()
    }
    injector = BodyInjector(module, targets, parsed)
    new_module = module.visit(injector)
    placed = injector.placed
    code, starts, ends = render_noting_lines(
        new_module,
        starts=[body.first for body in placed.values()],
        ends=[body.last for body in placed.values()],
    )
    body_lines = {
        name: (starts[id(body.first)] + body.kept_lines, ends[id(body.last)])
        for name, body in placed.items()
    }
    return InjectionResult(
        source=code,
        filled=list(bodies),
        body_lines={name: body_lines[name] for name in bodies},
        added_imports=injector.added_imports(),
    )
