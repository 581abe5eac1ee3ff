"""Put parsed bodies into their functions, in one pass over the module.

What is replaced is the function's whole body except a leading docstring: the stub statements
and the comment lines among them. Kept byte for byte: the decorators, the signature, the
comment on the ``def`` line, the docstring, the comments after the body (the block's footer,
indented at the body's level or deeper) and everything outside the function.

The comment and blank lines before the first replaced statement (its ``leading_lines``) are
split: the blank lines up to the first comment are kept, because they separate the docstring
from the code; the comments from there on (``# IMPLEMENTATION REQUIRED``, ``# TODO``) belong to
the stub and are replaced by the comments the generated code starts with.

A body that is only a docstring keeps the blank lines after it; the comment lines after those
(the stub's ``# IMPLEMENTATION REQUIRED``) are replaced, and the footer after the next blank
line is kept.

A one-line ``def f(self): ...`` gets an indented block; a comment after the ``...`` moves to
the ``def`` line.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst

from pipeline.stages.inject.body import (
    ParsedBody,
    is_docstring_line,
    is_future_import,
    is_import_line,
    leading_lines,
)
from pipeline.stages.inject.errors import InjectError
from pipeline.stages.inject.imports import ImportKey, ModuleImports, line_keys
from pipeline.stages.inject.locate import SCOPES
from pipeline.stages.inject.options import HoistImports

_CONTINUED = re.compile(r"(\\(?:\r\n|\r|\n))([ \t]*)")


@dataclass(frozen=True)
class KeptDocstring:
    """The docstring a body starts with, which stays: its text (cleaned), None for bytes."""

    text: str | None


@dataclass(frozen=True)
class NewBody:
    """Where a new body ended up: its first and last statements and the kept blank lines."""

    first: cst.BaseStatement
    last: cst.BaseStatement
    kept_lines: int


@dataclass(frozen=True)
class Target:
    """What the new body of one function depends on in the module."""

    docstring: KeptDocstring | None
    local_keys: set[ImportKey]
    """The imports the replaced statements had (they may stay local)."""
    unit: str
    """The body's indentation relative to the ``def``."""
    base: str
    """The body's absolute indentation."""
    module_indent: str


def new_statements(
    name: str,
    parsed: ParsedBody,
    target: Target,
    *,
    imports: Callable[[], ModuleImports],
    hoist: HoistImports,
    needed: Sequence[tuple[str, str]],
) -> list[cst.BaseStatement]:
    """The statements of a new body: without a repeated docstring and the imports moved to
    the module; the configured names it uses are imported (``needed``)."""
    statements = _new_statements(name, parsed, target, imports, hoist)
    for module, imported in needed:
        imports().require(module, imported)
    return statements


def reindented(
    statements: Sequence[cst.BaseStatement], parsed: ParsedBody, target: Target
) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
    """The statements and the footer comments of a new body in the target's indentation."""
    reindent = _Reindent(parsed, target.unit, target.module_indent, target.base)
    statements = [_visit(statement, reindent) for statement in statements]
    footer = [_visit_line(line, reindent) for line in parsed.footer]
    return statements, footer


class BodyInjector(cst.CSTTransformer):
    """Replace the bodies of ``targets`` (functions of ``module``, by identity), in one pass
    over the whole module."""

    def __init__(
        self,
        module: cst.Module,
        targets: Mapping[str, cst.FunctionDef],
        bodies: Mapping[str, ParsedBody],
        *,
        hoist: HoistImports = "none",
        needed: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    ) -> None:
        super().__init__()
        self._module = module
        self._targets = {id(node): name for name, node in targets.items()}
        self._bodies = bodies
        self._hoist: HoistImports = hoist
        self._needed = needed or {}
        self._indents: list[str] = []  # of the blocks the visit is in
        self._imports: ModuleImports | None = None
        self.placed: dict[str, NewBody] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        return isinstance(node, SCOPES) and super().on_visit(node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._indents.append(self._module.default_indent if node.indent is None else node.indent)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self._indents.pop()
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        name = self._targets.get(id(original_node))
        if name is None:
            return updated_node
        block = _as_block(updated_node.body)
        keep = 1 if block.body and is_docstring_line(block.body[0]) else 0
        replaced = block.body[keep:]
        unit = block.indent if block.indent is not None else self._module.default_indent
        target = Target(
            docstring=KeptDocstring(_docstring_text(block.body[0])) if keep else None,
            local_keys={key for statement in replaced for key in line_keys(statement)},
            unit=unit,
            base="".join(self._indents) + unit,
            module_indent=self._module.default_indent,
        )
        parsed = self._bodies[name]
        statements = new_statements(
            name,
            parsed,
            target,
            imports=self.imports,
            hoist=self._hoist,
            needed=self._needed.get(name, ()),
        )
        statements, footer = reindented(statements, parsed, target)
        if replaced:
            kept, block_footer = blank_head(leading_lines(replaced[0])), block.footer
        else:
            kept, block_footer = split_stub_footer(block.footer)
        first = statements[0].with_changes(leading_lines=(*kept, *leading_lines(statements[0])))
        statements[0] = first
        new_block = block.with_changes(
            body=(*block.body[:keep], *statements), footer=(*footer, *block_footer)
        )
        self.placed[name] = NewBody(first=first, last=statements[-1], kept_lines=len(kept))
        return updated_node.with_changes(body=new_block)

    def imports(self) -> ModuleImports:
        """The module's imports (looked at only when a body starts with imports)."""
        if self._imports is None:
            self._imports = ModuleImports.of(self._module)
        return self._imports

    def added_imports(self) -> list[str]:
        return [] if self._imports is None else self._imports.added_code(self._module)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        imports = self._imports
        if imports is None or not (imports.added or imports.added_future):
            return updated_node
        return updated_node.with_changes(body=imports.insert_into(updated_node.body))


def _new_statements(
    name: str,
    parsed: ParsedBody,
    target: Target,
    imports: Callable[[], ModuleImports],
    hoist: HoistImports,
) -> list[cst.BaseStatement]:
    """The generated statements, without a repeated docstring and hoisted imports."""
    statements = list(parsed.statements)
    docstring = target.docstring
    if docstring is not None and statements and _repeats(docstring, statements[0], parsed):
        _drop_first(statements)
    kept: list[cst.BaseStatement] = []
    while statements and is_import_line(statements[0]):
        line = statements[0]
        assert isinstance(line, cst.SimpleStatementLine)
        if hoist == "none" and not _is_future_line(line):
            local = [line]  # the model's imports stay where it put them
        else:
            local = imports().take(line, target.local_keys, hoist)
        if local:
            del statements[0]
            kept += local
        else:
            _drop_first(statements)
    if statements and not kept:
        first = statements[0]
        leading = leading_lines(first)
        if leading and leading[0].comment is None:
            statements[0] = first.with_changes(leading_lines=_strip_blanks(leading))
    statements = kept + statements
    if not statements:
        raise InjectError(
            f"the generated code for {name!r} has no statement to put in the body "
            "(only imports or a docstring)",
            code=InjectError.BODY_SYNTAX_ERROR,
            qualified_name=name,
            line=1,
            reason="no statement",
        )
    return statements


def _is_future_line(line: cst.SimpleStatementLine) -> bool:
    return any(is_future_import(small) for small in line.body)


def _as_block(body: cst.BaseSuite) -> cst.IndentedBlock:
    """The body as an indented block (a one-line body's comment moves to the ``def`` line)."""
    if isinstance(body, cst.IndentedBlock):
        return body
    assert isinstance(body, cst.SimpleStatementSuite)
    line = cst.SimpleStatementLine(body=body.body)
    return cst.IndentedBlock(body=(line,), header=body.trailing_whitespace)


def split_stub_footer(
    footer: Sequence[cst.EmptyLine],
) -> tuple[tuple[cst.EmptyLine, ...], tuple[cst.EmptyLine, ...]]:
    """The footer of a body that is only a docstring: the blank lines that stay before the new
    statements, and what stays after them. The comment lines in between (``# IMPLEMENTATION
    REQUIRED``, ``# TODO``: the stub's whole body) are replaced."""
    head = blank_head(footer)
    end = len(head)
    while end < len(footer) and footer[end].comment is not None:
        end += 1
    return head, tuple(footer[end:])


def blank_head(lines: Sequence[cst.EmptyLine]) -> tuple[cst.EmptyLine, ...]:
    end = 0
    while end < len(lines) and lines[end].comment is None:
        end += 1
    return tuple(lines[:end])


def _repeats(docstring: KeptDocstring, first: cst.BaseStatement, parsed: ParsedBody) -> bool:
    """Whether ``first`` is a docstring to drop: a whole def's, or a repeat of the original."""
    if not is_docstring_line(first):
        return False
    if parsed.whole_def:
        return True
    return docstring.text == _docstring_text(first)


def _docstring_text(statement: cst.BaseStatement) -> str | None:
    assert isinstance(statement, cst.SimpleStatementLine)
    expression = statement.body[0]
    assert isinstance(expression, cst.Expr)
    value = expression.value
    assert isinstance(value, cst.SimpleString | cst.ConcatenatedString)
    text = value.evaluated_value
    return inspect.cleandoc(text) if isinstance(text, str) else None


def _visit(statement: cst.BaseStatement, transformer: cst.CSTTransformer) -> cst.BaseStatement:
    result = statement.visit(transformer)
    assert isinstance(result, cst.BaseStatement)  # the transformers here remove nothing
    return result


def _visit_line(line: cst.EmptyLine, transformer: cst.CSTTransformer) -> cst.EmptyLine:
    result = line.visit(transformer)
    assert isinstance(result, cst.EmptyLine)
    return result


def _drop_first(statements: list[cst.BaseStatement]) -> None:
    """Drop the first statement; the comments before it go to the statement after it."""
    dropped = statements.pop(0)
    comments = [line for line in leading_lines(dropped) if line.comment is not None]
    if statements and comments:
        following = statements[0]
        leading = (*comments, *leading_lines(following))
        statements[0] = following.with_changes(leading_lines=leading)


def _strip_blanks(lines: Sequence[cst.EmptyLine]) -> tuple[cst.EmptyLine, ...]:
    return tuple(lines[len(blank_head(lines)) :])


_BLOCK_HOLDERS = (
    cst.BaseCompoundStatement,
    cst.IndentedBlock,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


class _Reindent(cst.CSTTransformer):
    """Write generated code in the target's indentation.

    Nested blocks indented by the generated code's own unit (the first nested block's) get the
    target body's unit; other indentations are kept as written. Blank lines at the top level of
    code parsed as a module are marked as not indented, as a parser marks them inside a block
    (otherwise they would get trailing whitespace). A line continued after a backslash is
    indented in the code's text, not relative to its block: it moves with its statement (from
    ``parsed.base_indent`` plus the code's blocks to ``target_base`` plus the target's).
    """

    def __init__(
        self, parsed: ParsedBody, target_unit: str, module_indent: str, target_base: str
    ) -> None:
        super().__init__()
        self._parsed_indent = parsed.parsed_indent
        self._fix_blank_lines = parsed.top_level
        self._continued = parsed.continued
        self._target_unit = target_unit
        self._module_indent = module_indent
        self._unit: str | None = None
        self._depth = 0
        self._columns = [(parsed.base_indent, target_base)]  # (in the code, in the target)

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Blank lines need fixing at the top level only (in expressions too), and backslash
        # continuations anywhere; elsewhere only the nodes that can hold a block are worth
        # going into.
        if (
            not self._continued
            and not (self._fix_blank_lines and not self._depth)
            and not isinstance(node, _BLOCK_HOLDERS)
        ):
            return False
        return super().on_visit(node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        if self._unit is None:
            self._unit = self._effective(node)
        self._depth += 1
        parsed, target = self._columns[-1]
        self._columns.append((parsed + self._effective(node), target + self._new_indent(node)))
        return True

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self._depth -= 1
        self._columns.pop()
        indent = self._new_indent(original_node)
        return updated_node.with_changes(indent=None if indent == self._module_indent else indent)

    def leave_SimpleWhitespace(
        self, original_node: cst.SimpleWhitespace, updated_node: cst.SimpleWhitespace
    ) -> cst.SimpleWhitespace:
        if "\\" not in updated_node.value:
            return updated_node
        parsed, target = self._columns[-1]

        def moved(match: re.Match[str]) -> str:
            indent = match.group(2)
            if not indent.startswith(parsed):
                return match.group(0)
            return match.group(1) + target + indent[len(parsed) :]

        return updated_node.with_changes(value=_CONTINUED.sub(moved, updated_node.value))

    def _new_indent(self, node: cst.IndentedBlock) -> str:
        indent = self._effective(node)
        return self._target_unit if indent == self._unit else indent

    def leave_EmptyLine(
        self, original_node: cst.EmptyLine, updated_node: cst.EmptyLine
    ) -> cst.EmptyLine:
        if self._fix_blank_lines and self._depth == 0 and updated_node.comment is None:
            return updated_node.with_changes(indent=False)
        return updated_node

    def _effective(self, node: cst.IndentedBlock) -> str:
        return node.indent if node.indent is not None else self._parsed_indent
