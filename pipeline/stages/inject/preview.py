"""A preview of an injection, for checking: the module ``inject_bodies`` would write, as text.

The validate stage checks generated bodies in their module after injection. It needs the
statements and the line numbers of that module, not its exact bytes, and running libcst over
every function filled costs several times what the checks do. ``preview_bodies`` splices the
bodies in as text, with ``ast`` telling where each function's body is:

* the original docstring is kept, and so are the blank lines between it (or the ``def``
  line) and the stub's first comment or statement; the rest of the body is replaced;
* the generated code, without its blank lines at either end, is re-indented to the body's
  indentation, except the lines inside a multi-line string, which keep their exact text.

The result has the same syntax tree as ``inject_bodies``' (string values included) and
``body_lines`` and ``filled`` equal to its own, which the tests check on real modules; only
the indentation of nested blocks and of lines inside brackets may differ.

Whatever needs inject's own rules gets ``None``, and the caller runs the real inject: a body
that starts with imports inject may move to the module (``hoist_imports``, ``__future__``) or
with imports and a whole ``def``, one that uses a configured name
inject imports for it (the error class, the log function), a whole ``def``, a repeated
docstring, comments after the last statement, code that does not parse or nests deeper than
inject takes, tabs, form feeds or other line breaks than ``\\n``, a body on its ``def`` line.
Unknown, ambiguous and overlapping names raise the same ``InjectError`` as ``inject_bodies``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.stages.inject.body import MAX_BODY_DEPTH, many_bool_operators, tree_too_deep
from pipeline.stages.inject.imports import module_bindings
from pipeline.stages.inject.locate import AstDefIndex, AstFunction, function_names
from pipeline.stages.inject.models import InjectionResult
from pipeline.stages.inject.options import InjectOptions, needed_imports
from pipeline.stages.inject.text import SourceLines
from pipeline.stages.syntax_tree import COMPOUND_STATEMENTS, parse_or_none

_UNHANDLED_CHARACTERS = ("\r", "\t", "\f", "\v", "\x00")


@dataclass(frozen=True)
class _Splice:
    """Lines ``first``..``last`` of the module become ``lines``: the new body, and only it."""

    name: str
    first: int
    last: int
    lines: list[str]


def preview_bodies(
    source: str, bodies: Mapping[str, str], options: InjectOptions | None = None
) -> InjectionResult | None:
    """The injected module for checking, or ``None`` when only ``inject_bodies`` can tell."""
    if _unhandled_text(source) or any(_unhandled_text(code) for code in bodies.values()):
        return None
    if many_bool_operators(source):
        return None  # inject may refuse it (see ``body.too_deep``)
    tree = parse_or_none(source)
    if tree is None:
        return None
    targets = AstDefIndex(tree).find(bodies)
    options = options or InjectOptions()
    if _adds_imports(tree, bodies, options):
        return None
    text = SourceLines(source)
    splices = []
    for name, node in sorted(targets.items(), key=lambda item: item[1].lineno):
        splice = _splice(name, node, bodies[name], text, hoist=options.hoist_imports != "none")
        if splice is None:
            return None
        splices.append(splice)
    return _apply(text, splices, list(bodies))


def _adds_imports(tree: ast.Module, bodies: Mapping[str, str], options: InjectOptions) -> bool:
    """Whether inject would import a configured name (the error class...) for a body."""
    needed = needed_imports(bodies, options.provided_imports())
    if not needed:
        return False
    bound = module_bindings(tree)
    return any(name not in bound for found in needed.values() for _, name in found)


def _unhandled_text(text: str) -> bool:
    return text.startswith("\ufeff") or any(c in text for c in _UNHANDLED_CHARACTERS)


def _is_blank(line: str) -> bool:
    return not line.strip()


def _is_comment(line: str) -> bool:
    return line.lstrip(" ").startswith("#")


def _statement_start(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _docstring_kept(body: list[ast.stmt]) -> bool | None:
    """Whether the body starts with a docstring inject keeps; ``None`` when unsure."""
    first = body[0]
    if not isinstance(first, ast.Expr):
        return False
    if isinstance(first.value, ast.JoinedStr):
        return None  # a concatenation with an f-string counts for libcst, an f-string alone not
    if not (isinstance(first.value, ast.Constant) and isinstance(first.value.value, str | bytes)):
        return False
    if len(body) > 1 and body[1].lineno == first.end_lineno:
        return None  # ``"doc"; x = 1``: not a docstring line for libcst
    return True


def _splice(
    name: str, node: AstFunction, code: str, text: SourceLines, *, hoist: bool
) -> _Splice | None:
    keep = _docstring_kept(node.body)
    if keep is None or len(node.body) <= keep:
        return None
    replaced = node.body[keep:]
    start = _statement_start(replaced[0])
    indent = text.indentation(start)
    if start <= node.lineno or text.line(start)[len(indent) :].startswith(("\\", "#")):
        return None
    if len(indent) <= len(text.indentation(node.lineno)) or indent.strip(" "):
        return None  # a body on the ``def`` line, or not indented in spaces
    if isinstance(replaced[-1], COMPOUND_STATEMENTS):
        return None  # libcst gives the comments after its last line to its block
    header_end = (node.body[0].end_lineno or start) if keep else node.lineno
    above = start - 1
    while above > header_end and (_is_blank(text.line(above)) or _is_comment(text.line(above))):
        above -= 1
    first = above + 1  # the first line of the replaced statement's leading lines
    while first < start and _is_blank(text.line(first)):
        first += 1  # blank lines before the first comment stay
    names = function_names(name)
    lines = _reindent(code, indent, keep_docstring=bool(keep), names=names, hoist=hoist)
    if lines is None:
        return None
    return _Splice(name, first, replaced[-1].end_lineno or start, lines)


def _reindent(
    code: str, indent: str, *, keep_docstring: bool, names: set[str], hoist: bool
) -> list[str] | None:
    """The code's lines at ``indent``, from its first comment or statement to its last
    statement."""
    lines = code.split("\n")
    while lines and _is_blank(lines[-1]):
        lines.pop()
    while lines and _is_blank(lines[0]):
        lines.pop(0)
    own = next((line for line in lines if not _is_comment(line)), None)
    if own is None:
        return None
    own_indent = own[: len(own) - len(own.lstrip(" "))]
    wrapped = bool(own_indent)
    tree = parse_or_none(("if 1:\n" if wrapped else "") + "\n".join(lines))
    if tree is None:
        return None
    statements = tree.body[0].body if wrapped and isinstance(tree.body[0], ast.If) else tree.body
    offset = 1 if wrapped else 0
    if not statements or _left_to_inject(
        statements, keep_docstring=keep_docstring, names=names, hoist=hoist
    ):
        return None
    if len(code) >= MAX_BODY_DEPTH and tree_too_deep(tree, MAX_BODY_DEPTH):
        return None  # inject refuses it: libcst's visitors would not get through
    last = (statements[-1].end_lineno or 0) - offset
    if any(not _is_blank(line) for line in lines[last:]):
        return None  # comments after the last statement: libcst may give them to a block
    verbatim = _lines_inside_strings(tree, offset)
    result = []
    for number, line in enumerate(lines[:last], start=1):
        if number in verbatim:
            result.append(line)
        elif _is_blank(line):
            result.append("")
        elif line.startswith(own_indent):
            result.append(indent + line[len(own_indent) :])
        else:
            return None  # indented less than the first statement: inject reports it
    return [line + "\n" for line in result]


def _left_to_inject(
    statements: list[ast.stmt], *, keep_docstring: bool, names: set[str], hoist: bool
) -> bool:
    """Whether inject would change the statements: move imports (``hoist``, or a ``__future__``
    import), unwrap a def (after imports), drop a repeated docstring."""
    imports = 0
    while imports < len(statements) and isinstance(
        statements[imports], ast.Import | ast.ImportFrom
    ):
        statement = statements[imports]
        if hoist or (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
            return True
        imports += 1
    if imports:
        rest = statements[imports:]
        return len(rest) == 1 and isinstance(rest[0], ast.FunctionDef | ast.AsyncFunctionDef)
    first = statements[0]
    if (
        keep_docstring
        and isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant | ast.JoinedStr)
    ):
        return True  # inject may drop it as a repeat of the docstring
    return (
        len(statements) == 1
        and isinstance(first, ast.FunctionDef | ast.AsyncFunctionDef)
        and first.name in names
    )


def _lines_inside_strings(tree: ast.Module, offset: int) -> set[int]:
    """The lines that continue a multi-line string (their text is part of its value)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant | ast.JoinedStr):
            end = node.end_lineno or node.lineno
            if end > node.lineno:
                inside.update(range(node.lineno + 1 - offset, end + 1 - offset))
    return inside


def _apply(text: SourceLines, splices: list[_Splice], filled: list[str]) -> InjectionResult:
    pieces: list[str] = []
    body_lines: dict[str, tuple[int, int]] = {}
    position = 1  # the next line of the module to copy
    shift = 0
    for splice in splices:
        pieces += text.lines[position - 1 : splice.first - 1]
        start = splice.first + shift
        body_lines[splice.name] = (start, start + len(splice.lines) - 1)
        pieces += splice.lines
        shift += len(splice.lines) - (splice.last - splice.first + 1)
        position = splice.last + 1
    pieces += text.lines[position - 1 :]
    return InjectionResult(
        source="".join(pieces),
        filled=filled,
        body_lines={name: body_lines[name] for name in filled},
        added_imports=[],
    )
