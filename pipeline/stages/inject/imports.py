"""Imports that generated code starts with: which move to the module, and where they go.

By default (``hoist_imports`` "none") they stay where the model put them, at the top of the
body: a local import may be there on purpose (deferred, or breaking an import cycle), and
moving it changes when the module imports what. Only ``from __future__`` imports move (they are
a syntax error anywhere else). With "stdlib", a leading import of the standard library moves to
the module's imports unless

* the module already has it, unconditionally, at the top level: then it is only dropped;
* the function being replaced already has the identical import in its body: the author chose a
  local import (to break an import cycle, or to defer a costly import), so it stays local;
* a name it binds is already bound at module level to something else (another import, a def,
  a class, an assignment): moving it would shadow that name, so it stays local.

``ModuleImports.require`` adds the import of a configured name (the error class, the log
function) a body uses and the module does not bind, after the module's other imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node

from pipeline.stages.inject.body import (
    is_docstring_line,
    is_future_import,
    is_import_line,
    leading_lines,
)
from pipeline.stages.inject.locate import SCOPES
from pipeline.stages.inject.options import HoistImports, is_stdlib_module
from pipeline.stages.inject.text import SourceLines
from pipeline.stages.syntax_tree import COMPOUND_STATEMENTS, line_groups, nested_blocks

ImportKey = tuple[str, ...]
"""What one imported name is: ("import", dotted, asname) or ("from", module, name, asname)."""

Binding = tuple[str, ...]
"""What a module-level name is bound to."""


def alias_keys(statement: cst.Import | cst.ImportFrom) -> list[tuple[ImportKey, Binding, str]]:
    """For each imported name: its key, what it binds, and the name it binds."""
    if isinstance(statement, cst.Import):
        names = [(get_full_name_for_node(a.name) or "", _asname(a)) for a in statement.names]
        return _import_keys(names)
    module = "." * len(statement.relative)
    if statement.module is not None:
        module += get_full_name_for_node(statement.module) or ""
    if isinstance(statement.names, cst.ImportStar):
        return _from_keys(module, None)
    names = [(get_full_name_for_node(a.name) or "", _asname(a)) for a in statement.names]
    return _from_keys(module, names)


def _import_keys(names: list[tuple[str, str | None]]) -> list[tuple[ImportKey, Binding, str]]:
    """``import a.b`` binds ``a``; ``import a.b as c`` binds ``c`` to the module ``a.b``."""
    found: list[tuple[ImportKey, Binding, str]] = []
    for dotted, asname in names:
        key = ("import", dotted, asname or "")
        if asname:
            found.append((key, ("module", dotted), asname))
        else:
            top = dotted.split(".", 1)[0]
            found.append((key, ("module", top), top))
    return found


def _from_keys(
    module: str, names: list[tuple[str, str | None]] | None
) -> list[tuple[ImportKey, Binding, str]]:
    """``from module import ...``; ``names`` None for ``import *``."""
    if names is None:
        return [(("from", module, "*", ""), ("star", module), "*")]
    return [
        (("from", module, name, asname or ""), ("from", module, name), asname or name)
        for name, asname in names
    ]


def _asname(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    return get_full_name_for_node(alias.asname.name)


def line_keys(statement: cst.BaseStatement) -> set[ImportKey]:
    """The import keys of a line of imports (empty for any other statement)."""
    if not is_import_line(statement):
        return set()
    assert isinstance(statement, cst.SimpleStatementLine)
    keys: set[ImportKey] = set()
    for small in statement.body:
        if isinstance(small, cst.Import | cst.ImportFrom):
            keys.update(key for key, _, _ in alias_keys(small))
    return keys


@dataclass(frozen=True)
class _TopLine:
    """What placing imports needs to know of a top-level line of the module."""

    docstring: bool
    future: bool
    keys: set[ImportKey]
    definition: bool
    """A def or a class."""


@dataclass
class ModuleImports:
    """The module's top-level imports and bindings, and the imports to add to it."""

    present: set[ImportKey] = field(default_factory=set)
    bindings: dict[str, set[Binding]] = field(default_factory=dict)
    future_index: int = 0
    import_index: int = 0
    after_future: bool = False
    after_import: bool = False
    added_future: list[cst.SimpleStatementLine] = field(default_factory=list)
    added: list[cst.SimpleStatementLine] = field(default_factory=list)
    layout: TopLevelLayout | None = None
    """Where the top-level lines of the module are in its text (``of_tree`` only)."""

    @classmethod
    def of(cls, module: cst.Module) -> ModuleImports:
        body = module.body
        lines = [
            _TopLine(
                docstring=is_docstring_line(statement),
                future=_is_future_line(statement),
                keys=line_keys(statement),
                definition=isinstance(statement, cst.FunctionDef | cst.ClassDef),
            )
            for statement in body
        ]
        index = cls()._placed(lines)
        _collect_bindings(body, index.bindings)
        return index

    @classmethod
    def of_tree(cls, tree: ast.Module, text: SourceLines) -> ModuleImports | None:
        """The same as ``of``, from the ``ast`` of the module and its text; None for the
        layouts this does not handle (then ``of`` on the libcst module is the way)."""
        layout = TopLevelLayout.of(tree, text)
        if layout is None:
            return None
        lines = [
            _TopLine(
                docstring=layout.is_docstring(number),
                future=layout.is_future(number),
                keys=ast_line_keys(group),
                definition=isinstance(
                    group[0], ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                ),
            )
            for number, group in enumerate(layout.groups)
        ]
        index = cls(layout=layout)._placed(lines)
        _collect_ast_bindings(tree.body, index.bindings)
        return index

    def _placed(self, lines: Sequence[_TopLine]) -> ModuleImports:
        """Note the module's imports and where added ones go, from its top-level lines."""
        position = 1 if lines and lines[0].docstring else 0
        while position < len(lines) and lines[position].future:
            position += 1
            self.after_future = True
        self.future_index = self.import_index = position
        prologue = True
        for number, line in enumerate(lines):
            self.present.update(line.keys)
            if line.definition:
                prologue = False
            elif line.keys and prologue and number >= self.import_index:
                self.import_index = number + 1
                self.after_import = True
        return self

    def take(
        self,
        line: cst.SimpleStatementLine,
        local_keys: set[ImportKey],
        hoist: HoistImports = "stdlib",
    ) -> list[cst.SimpleStatementLine]:
        """Move the imports of ``line`` to the module if they may; return what stays local.

        With ``hoist`` "none" only ``from __future__`` imports move; with "stdlib", imports of
        standard-library modules move too.
        """
        decisions: list[tuple[cst.Import | cst.ImportFrom, bool]] = []
        for small in line.body:
            assert isinstance(small, cst.Import | cst.ImportFrom)  # an import line
            entries = alias_keys(small)
            is_future = is_future_import(small)
            keys = {key for key, _, _ in entries}
            local = not is_future and (
                not _hoisted(entries, hoist) or keys <= local_keys or self._conflicts(entries)
            )
            decisions.append((small, local))
        if all(local for _, local in decisions):
            return [line]
        for small, local in decisions:
            if not local:
                self._add(small, line)
        return [_own_line(small, line) for small, local in decisions if local]

    def require(self, module: str, name: str) -> None:
        """Add ``from module import name`` unless the module binds ``name`` already."""
        if name in self.bindings:
            return
        statement = cst.ImportFrom(
            module=cst.parse_expression(module),  # type: ignore[arg-type]  # a dotted name
            names=[cst.ImportAlias(name=cst.Name(name))],
        )
        self._add(statement, cst.SimpleStatementLine(body=(statement,)))

    def _add(self, small: cst.Import | cst.ImportFrom, line: cst.SimpleStatementLine) -> None:
        entries = alias_keys(small)
        missing = [key not in self.present for key, _, _ in entries]
        if not any(missing):
            return
        added = _own_line(_keep_aliases(small, missing), line).with_changes(leading_lines=())
        is_future = is_future_import(small)
        (self.added_future if is_future else self.added).append(added)
        for key, binding, name in entries:
            self.present.add(key)
            self.bindings.setdefault(name, set()).add(binding)

    def _conflicts(self, entries: Iterable[tuple[ImportKey, Binding, str]]) -> bool:
        for key, binding, name in entries:
            if key in self.present or name == "*":
                continue
            bound = self.bindings.get(name)
            if bound is not None and bound != {binding}:
                return True
        return False

    def _placements(self) -> list[tuple[int, list[cst.SimpleStatementLine], bool]]:
        """(where, the added lines, whether right after imports) for the imports and the
        ``__future__`` imports to add, the later position first."""
        groups = [
            (self.import_index, self.added, self.after_import),
            (self.future_index, self.added_future, self.after_future),
        ]
        return [group for group in groups if group[1]]

    def insert_into(self, body: Sequence[cst.BaseStatement]) -> list[cst.BaseStatement]:
        """The module body with the added imports in place."""
        statements = list(body)
        for index, lines, after_import in self._placements():
            new: list[cst.BaseStatement] = list(lines)
            if index > 0 and not after_import:
                new[0] = lines[0].with_changes(leading_lines=(cst.EmptyLine(),))
            if index < len(statements) and not after_import:
                following = statements[index]
                leading = leading_lines(following)
                if not is_import_line(following) and (
                    not leading or leading[0].comment is not None
                ):
                    # PEP 8: two blank lines before a top-level def or class, one otherwise.
                    blanks = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
                    separation = (cst.EmptyLine(),) * blanks
                    following = following.with_changes(leading_lines=(*separation, *leading))
                statements[index] = following
            statements[index:index] = new
        return statements

    def insertions(self, module: cst.Module) -> list[tuple[int, str]] | None:
        """What ``insert_into`` does, as text to insert at offsets of the source ``of_tree``
        read (``module`` only gives the newline); None when an import would go at the very end.
        """
        layout = self.layout
        assert layout is not None  # of_tree only
        statements: list[int | _Added] = list(range(len(layout.groups)))
        separation: dict[int, int] = {}
        for index, lines, after_import in self._placements():
            new: list[int | _Added] = [
                _Added(
                    module.code_for_node(line), blank=not number and index > 0 and not after_import
                )
                for number, line in enumerate(lines)
            ]
            if index < len(statements) and not after_import:
                following = statements[index]
                if isinstance(following, int) and layout.wants_separation(following):
                    separation[following] = layout.separation(following)
            statements[index:index] = new
        newline = module.default_newline
        found: list[tuple[int, str]] = []
        pending = ""
        for statement in statements:
            if isinstance(statement, _Added):
                pending += (newline if statement.blank else "") + statement.code
                continue
            blanks = separation.get(statement, 0)
            if pending or blanks:
                found.append((layout.offset(statement), pending + newline * blanks))
                pending = ""
        return None if pending else found

    def added_code(self, module: cst.Module) -> list[str]:
        return [
            module.code_for_node(small).strip()
            for line in (*self.added_future, *self.added)
            for small in line.body
        ]


def _is_future_line(statement: cst.BaseStatement) -> bool:
    """A line that starts with a ``from __future__`` import."""
    return isinstance(statement, cst.SimpleStatementLine) and is_future_import(statement.body[0])


def _hoisted(entries: Iterable[tuple[ImportKey, Binding, str]], hoist: HoistImports) -> bool:
    """Whether the policy moves an import of these names (``__future__`` aside)."""
    if hoist == "none":
        return False
    return all(is_stdlib_module(key[1]) for key, _, _ in entries)


def _own_line(
    small: cst.Import | cst.ImportFrom, line: cst.SimpleStatementLine
) -> cst.SimpleStatementLine:
    """``small`` as a line of its own (the line itself, when it is its only statement)."""
    if len(line.body) == 1:
        return line.with_changes(body=(small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT),))
    return cst.SimpleStatementLine(body=(small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT),))


def _keep_aliases(
    small: cst.Import | cst.ImportFrom, keep: list[bool]
) -> cst.Import | cst.ImportFrom:
    if all(keep) or isinstance(small.names, cst.ImportStar):
        return small
    names = [alias for alias, wanted in zip(small.names, keep, strict=True) if wanted]
    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return small.with_changes(names=names)


def _collect_bindings(
    statements: Sequence[cst.BaseStatement | cst.BaseSmallStatement],
    bindings: dict[str, set[Binding]],
) -> None:
    """Every name bound at module level, also under if/try/with/for, with what binds it."""

    class Collector(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.FunctionDef | cst.ClassDef):
                bindings.setdefault(node.name.value, set()).add(("def", node.name.value))
                return False
            if isinstance(node, cst.Import | cst.ImportFrom):
                for _, binding, name in alias_keys(node):
                    bindings.setdefault(name, set()).add(binding)
                return False
            if isinstance(node, cst.AssignTarget | cst.AnnAssign | cst.AugAssign | cst.For):
                for name in _target_names(node.target):
                    bindings.setdefault(name, set()).add(("assign",))
                return isinstance(node, cst.For)
            return isinstance(node, _BINDING_HOLDERS)

    collector = Collector()
    for statement in statements:
        statement.visit(collector)


_BINDING_HOLDERS = (*SCOPES, cst.SimpleStatementSuite, cst.SimpleStatementLine, cst.Assign)
"""What the walk for module-level bindings goes into (the defs and classes it stops at)."""


def _target_names(target: cst.BaseExpression) -> list[str]:
    """The names an assignment target binds (not attributes or subscripts)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [name for element in target.elements for name in _target_names(element.value)]
    return []


@dataclass(frozen=True)
class _Added:
    code: str
    blank: bool


@dataclass(frozen=True)
class TopLevelLayout:
    """The top-level statements of a module grouped as libcst groups them into lines (the
    statements of one line, or a compound statement), with where they are in the text."""

    groups: list[list[ast.stmt]]
    text: SourceLines

    @classmethod
    def of(cls, tree: ast.Module, text: SourceLines) -> TopLevelLayout | None:
        groups = line_groups(tree.body)
        for group in groups[:-1]:
            last = group[-1]
            if not isinstance(last, COMPOUND_STATEMENTS):
                # A backslash might join the next statement to this line: not handled.
                assert last.end_lineno is not None
                if text.line(last.end_lineno).rstrip("\r\n").endswith("\\"):
                    return None
        layout = cls(groups, text)
        if groups and _is_expression_line(groups[0]) and _joined_string(groups[0]):
            return None  # an f-string or a concatenation of them: libcst's docstring test differs
        return layout

    def is_docstring(self, number: int) -> bool:
        group = self.groups[number]
        if len(group) != 1 or not isinstance(group[0], ast.Expr):
            return False
        value = group[0].value
        return isinstance(value, ast.Constant) and isinstance(value.value, str | bytes)

    def is_future(self, number: int) -> bool:
        first = self.groups[number][0]
        return isinstance(first, ast.ImportFrom) and first.module == "__future__"

    def is_import_line(self, number: int) -> bool:
        return all(isinstance(s, ast.Import | ast.ImportFrom) for s in self.groups[number])

    def first_line(self, number: int) -> int:
        first = self.groups[number][0]
        if isinstance(first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return min([first.lineno, *(d.lineno for d in first.decorator_list)])
        return first.lineno

    def offset(self, number: int) -> int:
        """Where the comment and blank lines before the group start (after the module's
        header for the first group); the group before is a line of simple statements."""
        if number == 0:
            return self.text.offset(self.first_line(0))
        last = self.groups[number - 1][-1].end_lineno
        assert last is not None
        return self.text.offset(last + 1)

    def wants_separation(self, number: int) -> bool:
        """Not an import line, and no blank line right before it (``insert_into``'s test)."""
        if self.is_import_line(number):
            return False
        if number == 0:
            return True
        line = self.text.line(self.text.line_at(self.offset(number)))
        return bool(line.strip(" \t\f\r\n"))

    def separation(self, number: int) -> int:
        first = self.groups[number][0]
        return 2 if isinstance(first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else 1


def _is_expression_line(group: list[ast.stmt]) -> bool:
    return len(group) == 1 and isinstance(group[0], ast.Expr)


def _joined_string(group: list[ast.stmt]) -> bool:
    statement = group[0]
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.JoinedStr)


def ast_alias_keys(statement: ast.Import | ast.ImportFrom) -> list[tuple[ImportKey, Binding, str]]:
    """``alias_keys`` of an ``ast`` import."""
    names = [(alias.name, alias.asname) for alias in statement.names]
    if isinstance(statement, ast.Import):
        return _import_keys(names)
    module = "." * statement.level + (statement.module or "")
    return _from_keys(module, None if names[0][0] == "*" else names)


def ast_line_keys(group: list[ast.stmt]) -> set[ImportKey]:
    """``line_keys`` of the statements of one line (``syntax_tree.line_groups``)."""
    keys: set[ImportKey] = set()
    if all(isinstance(statement, ast.Import | ast.ImportFrom) for statement in group):
        for statement in group:
            assert isinstance(statement, ast.Import | ast.ImportFrom)
            keys.update(key for key, _, _ in ast_alias_keys(statement))
    return keys


def module_bindings(tree: ast.Module) -> set[str]:
    """The names bound at module level (also under if/try/with/for)."""
    bindings: dict[str, set[Binding]] = {}
    _collect_ast_bindings(tree.body, bindings)
    return set(bindings)


def _collect_ast_bindings(statements: list[ast.stmt], bindings: dict[str, set[Binding]]) -> None:
    """``_collect_bindings`` on an ``ast`` module."""
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bindings.setdefault(node.name, set()).add(("def", node.name))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            for _, binding, name in ast_alias_keys(node):
                bindings.setdefault(name, set()).add(binding)
            continue
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
            targets = [node.target]
        for target in targets:
            for name in _ast_target_names(target):
                bindings.setdefault(name, set()).add(("assign",))
        for block in nested_blocks(node):
            _collect_ast_bindings(block, bindings)


def _ast_target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _ast_target_names(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _ast_target_names(element)]
    return []
