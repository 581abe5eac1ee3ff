"""Find functions by qualified name (``Outer.Inner.method``, ``func``, ``outer.<locals>.inner``).

A property's setter and deleter (``@prop.setter def prop``) share the getter's qualified name;
each is also found as ``Class.prop.setter`` (``.getter``, ``.deleter``), and ``Class.prop``
stands for the one def of that name without such a decorator (the getter). The extract stage
names the stubs the same way (``accessor_key``).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from typing import Generic, TypeVar

import libcst as cst
import libcst.matchers as m
from libcst.helpers import get_full_name_for_node

from pipeline.stages.inject.errors import InjectError
from pipeline.stages.syntax_tree import nested_blocks

SCOPES = (
    cst.Module,
    cst.IndentedBlock,
    cst.ClassDef,
    cst.FunctionDef,
    cst.If,
    cst.Else,
    cst.For,
    cst.While,
    cst.Try,
    cst.TryStar,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.With,
    cst.Match,
    cst.MatchCase,
)
"""The nodes that can hold a def or a class. Walks go into these only: the expressions and
simple statements of a module (most of its nodes) cannot hold one."""

Node = TypeVar("Node")

ACCESSORS = frozenset({"setter", "getter", "deleter"})


def accessor_key(qualified_name: str, function_name: str, decorators: Iterable[str]) -> str:
    """``Class.prop.setter`` for a def decorated ``@prop.setter`` (given the decorators as
    dotted names), else the qualified name itself."""
    for decorator in decorators:
        owner, _, accessor = decorator.rpartition(".")
        if owner == function_name and accessor in ACCESSORS:
            return f"{qualified_name}.{accessor}"
    return qualified_name


def function_names(qualified_name: str) -> set[str]:
    """The names the def a qualified name stands for may have (``prop`` or ``setter`` for
    ``Class.prop.setter``)."""
    parts = qualified_name.split(".")
    names = {parts[-1]}
    if len(parts) > 1 and parts[-1] in ACCESSORS:
        names.add(parts[-2])
    return names


_OVERLOAD = m.Decorator(decorator=m.Name("overload") | m.Attribute(attr=m.Name("overload")))


class _Index(Generic[Node]):
    """Functions by qualified name and the functions each one is inside; ``find`` resolves names.

    ``enclosing`` and the overlap check work on ``id()`` of the nodes, so the index serves the
    libcst tree and the ``ast`` tree alike.
    """

    def __init__(self) -> None:
        self.defs: dict[str, list[Node]] = {}
        self.enclosing: dict[int, tuple[int, ...]] = {}
        self._accessors: set[int] = set()

    def _is_overload(self, node: Node) -> bool:
        raise NotImplementedError

    def _add(self, name: str, node: Node, function_name: str, decorators: list[str]) -> None:
        self.defs.setdefault(name, []).append(node)
        key = accessor_key(name, function_name, decorators)
        if key != name:
            self._accessors.add(id(node))
            self.defs.setdefault(key, []).append(node)

    def find(self, names: Iterable[str]) -> dict[str, Node]:
        """The function each name stands for; raise NAME_NOT_FOUND or AMBIGUOUS_NAME."""
        found: dict[str, Node] = {}
        for name in names:
            candidates = self.defs.get(name)
            if not candidates:
                raise self._not_found(name)
            if len(candidates) > 1:
                # typing.overload signatures come with one implementation: that is the target.
                candidates = [c for c in candidates if not self._is_overload(c)]
            if len(candidates) > 1:
                # A property's getter, not its setter or deleter (``Class.prop.setter``).
                candidates = [c for c in candidates if id(c) not in self._accessors] or candidates
            if len(candidates) != 1:
                count = len(self.defs[name])
                raise InjectError(
                    f"{name!r} is defined {count} times in the module (redefined, or in "
                    "branches of an if/try, or a property's getter and setter); "
                    "cannot tell which one to fill",
                    code=InjectError.AMBIGUOUS_NAME,
                    qualified_name=name,
                    count=count,
                )
            found[name] = candidates[0]
        self._check_overlaps(found)
        return found

    def _not_found(self, name: str) -> InjectError:
        known = list(self.defs)
        simple = name.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        close += [q for q in known if q.rsplit(".", 1)[-1] == simple and q not in close]
        if close:
            hint = "close matches: " + ", ".join(close[:5])
        elif known:
            hint = "no close match"
        else:
            hint = "the module defines no functions"
        return InjectError(
            f"no function {name!r} in the module; {hint}",
            code=InjectError.NAME_NOT_FOUND,
            qualified_name=name,
            close_matches=close[:5],
        )

    def _check_overlaps(self, found: dict[str, Node]) -> None:
        targets: dict[int, str] = {}
        for name, node in found.items():
            other = targets.setdefault(id(node), name)
            if other != name:
                raise InjectError(
                    f"{other!r} and {name!r} are the same function; fill it once",
                    code=InjectError.OVERLAPPING_TARGETS,
                    qualified_name=name,
                    enclosing=other,
                )
        for name, node in found.items():
            for outer in self.enclosing[id(node)]:
                if outer in targets:
                    raise InjectError(
                        f"{name!r} is inside {targets[outer]!r}, whose body is replaced too; "
                        "fill one of them",
                        code=InjectError.OVERLAPPING_TARGETS,
                        qualified_name=name,
                        enclosing=targets[outer],
                    )


class DefIndex(cst.CSTVisitor, _Index[cst.FunctionDef]):
    """Every function of a libcst module by qualified name."""

    def __init__(self) -> None:
        cst.CSTVisitor.__init__(self)
        _Index.__init__(self)
        self._scope: list[str] = []
        self._functions: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return isinstance(node, SCOPES) and super().on_visit(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scope.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scope.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        name = ".".join((*self._scope, node.name.value))
        decorators = [get_full_name_for_node(d.decorator) or "" for d in node.decorators]
        self._add(name, node, node.name.value, decorators)
        self.enclosing[id(node)] = tuple(self._functions)
        self._scope += (node.name.value, "<locals>")
        self._functions.append(id(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        del self._scope[-2:]
        self._functions.pop()

    def _is_overload(self, node: cst.FunctionDef) -> bool:
        return m.matches(
            node, m.FunctionDef(decorators=[m.ZeroOrMore(), _OVERLOAD, m.ZeroOrMore()])
        )


AstFunction = ast.FunctionDef | ast.AsyncFunctionDef


class AstDefIndex(_Index[AstFunction]):
    """Every function of an ``ast`` module by qualified name, in the order ``DefIndex`` visits
    them (document order, an enclosing function before the ones inside it)."""

    def __init__(self, tree: ast.Module) -> None:
        super().__init__()
        self._walk(tree.body, (), ())

    def _walk(
        self, statements: list[ast.stmt], scope: tuple[str, ...], functions: tuple[int, ...]
    ) -> None:
        for node in statements:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = ".".join((*scope, node.name))
                self._add(name, node, node.name, [_dotted(d) for d in node.decorator_list])
                self.enclosing[id(node)] = functions
                self._walk(node.body, (*scope, node.name, "<locals>"), (*functions, id(node)))
            elif isinstance(node, ast.ClassDef):
                self._walk(node.body, (*scope, node.name), functions)
            else:
                for block in nested_blocks(node):
                    self._walk(block, scope, functions)

    def _is_overload(self, node: AstFunction) -> bool:
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Name) and decorator.id == "overload":
                return True
            if isinstance(decorator, ast.Attribute) and decorator.attr == "overload":
                return True
        return False


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
