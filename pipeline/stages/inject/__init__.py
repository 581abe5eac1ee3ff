"""The inject stage: put generated bodies into a module's functions, keeping all else as is.

``inject_bodies(source, {qualified_name: code})`` finds the functions and what their bodies
replace with ``ast``, parses each body once with libcst, has libcst write only the new bodies
and splices their text into the module text (see ``splice``). A module that way does not
handle (one ``ast`` cannot parse, a form feed...) goes the whole-module way:
parsed once with libcst, all the bodies replaced in one pass, rendered once. See
``transform`` for what is replaced and what is kept, ``body`` for the forms of
generated code accepted, ``imports`` for where the imports the generated code starts with go
and ``options`` for the settings (which imports move, the configured names to import).
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from pipeline.stages.gc_pause import gc_paused
from pipeline.stages.inject.body import (
    many_bool_operators,
    parse_body,
    syntax_error_location,
    too_deep,
)
from pipeline.stages.inject.errors import InjectError
from pipeline.stages.inject.locate import DefIndex
from pipeline.stages.inject.models import InjectionResult
from pipeline.stages.inject.options import InjectOptions, needed_imports
from pipeline.stages.inject.positions import render_noting_lines
from pipeline.stages.inject.splice import inject_spliced
from pipeline.stages.inject.transform import BodyInjector

__all__ = ["InjectError", "InjectOptions", "InjectionResult", "inject_bodies"]


@gc_paused()
def inject_bodies(
    source: str, bodies: Mapping[str, str], options: InjectOptions | None = None
) -> InjectionResult:
    """Replace the body of each function named in ``bodies`` with its generated code.

    Raises ``InjectError`` (``SOURCE_SYNTAX_ERROR``, ``NAME_NOT_FOUND``, ``AMBIGUOUS_NAME``,
    ``OVERLAPPING_TARGETS``, ``BODY_SYNTAX_ERROR``).
    """
    options = options or InjectOptions()
    if many_bool_operators(source):  # the splice parses the module's functions with libcst
        _refuse_deep_nesting(source)
    try:
        spliced = inject_spliced(source, bodies, options)
        if spliced is not None:
            return spliced
        return inject_whole_module(source, bodies, options)
    except (RecursionError, MemoryError) as error:  # ast or libcst's visitors gave up
        raise _source_error(1, "the module is nested too deeply to parse") from error
    except UnicodeEncodeError as error:  # a lone surrogate in the module's text
        line = source.count("\n", 0, error.start) + 1
        raise _source_error(line, "the module holds a character UTF-8 cannot encode") from error


def inject_whole_module(
    source: str, bodies: Mapping[str, str], options: InjectOptions | None = None
) -> InjectionResult:
    """``inject_bodies`` with libcst parsing and rendering the whole module."""
    options = options or InjectOptions()
    _refuse_deep_nesting(source)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise _source_error(*syntax_error_location(source, error)) from error
    index = DefIndex()
    module.visit(index)
    targets = index.find(bodies)
    parsed = {
        name: parse_body(code, qualified_name=name, newline=module.default_newline)
        for name, code in bodies.items()
    }
    injector = BodyInjector(
        module,
        targets,
        parsed,
        hoist=options.hoist_imports,
        needed=needed_imports(bodies, options.provided_imports()),
    )
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


def _refuse_deep_nesting(source: str) -> None:
    """libcst would crash the process on it (see ``body.too_deep``)."""
    hazard = too_deep(source)
    if hazard is not None:
        raise _source_error(*hazard)


def _source_error(line: int, reason: str) -> InjectError:
    return InjectError(
        f"the module does not parse: line {line}: {reason}",
        code=InjectError.SOURCE_SYNTAX_ERROR,
        line=line,
        reason=reason,
    )
