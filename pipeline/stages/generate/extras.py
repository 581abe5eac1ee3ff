"""What comes with a whole def in a reply: helpers beside it, its class around it.

A model asked for one body sometimes answers with more: a module-level function or constant
the def calls, the whole class re-emitted with the method and a new helper method, the
module's other functions repeated. Nothing the answer needs may be dropped unseen:

* a definition the def uses (directly or through another one) that the module does not have,
  at module level: carried into the body, before its first statement (a nested function or
  a local constant does the same for the body, and the validator checks it like the rest);
* a new member of the class the def uses (a helper method, a class attribute): the inject
  stage places bodies only, so the reply is refused (RPL004) and the model is asked again;
* a definition the module or the class already has, re-emitted with other code: refused
  (RPL005), the function must not rely on a change made elsewhere; re-emitted unchanged,
  or elided (a stub), it is ignored;
* anything else (an example call, a ``__main__`` block, a definition nothing uses): ignored.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from pipeline.models import Stub
from pipeline.stages.generate.problems import REPLY_HELPERS, ReplyProblem
from pipeline.stages.generate.replies import ExtractedCode
from pipeline.stages.syntax_tree import parse_or_none

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def settle_extras(
    extracted: ExtractedCode,
    stub: Stub,
    *,
    module_source: str | None = None,
    stub_names: Collection[str] = (),
) -> str:
    """The code to inject for ``stub``; ``ReplyProblem`` when the answer cannot be placed."""
    if extracted.context is None:
        return extracted.code
    tree = parse_or_none(extracted.context)
    located = _locate(tree, stub.name) if tree is not None else None
    if tree is None or located is None:
        return extracted.code
    function, owner = located
    original = _Original(module_source, stub)
    top = {
        name: node
        for node in tree.body
        if node is not owner and node is not function
        for name in _names(node)
    }
    members = {
        name: node
        for node in (owner.body if owner is not None else [])
        if node is not function
        for name in _names(node)
    }
    changed = [
        *_changed(top, original.top_level, stub_names, prefix=""),
        *_changed(members, original.members, stub_names, prefix=original.class_prefix),
    ]
    if changed:
        raise _problem(
            f"the reply also changes {_listed(changed)}, which the module already has: only "
            f"the body of {stub.qualified_name} is written, so it must work with the module "
            "as it is; answer with that body only",
            "RPL005",
            changed,
        )
    new_top = {n: d for n, d in top.items() if n not in original.top_level}
    new_members = {n: d for n, d in members.items() if n not in original.members}
    if stub.class_context is not None:  # methods written beside the method, not in a class
        for name in [n for n, d in new_top.items() if _takes_self(d)]:
            node = new_top.pop(name)
            if name not in original.members:
                new_members[name] = node
    used_top, used_members = _used(function, new_top, new_members)
    if used_members:
        names = [f"{original.class_prefix}{name}" for name in used_members]
        raise _problem(
            f"the reply adds {_listed(names)} to the class and {stub.qualified_name} uses "
            f"{'it' if len(names) == 1 else 'them'}; only the body of {stub.qualified_name} "
            "can be placed: write such helpers as nested functions inside the body, or "
            "inline them",
            "RPL004",
            names,
        )
    if not used_top:
        return extracted.code
    return _with_helpers(extracted.context, tree, function, used_top)


# ---------------------------------------------------------------- the reply


def _locate(
    tree: ast.Module, name: str
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None] | None:
    """The def of ``name`` at the top level, else the one in a top-level class (as replies)."""
    for node in tree.body:
        if isinstance(node, _FUNCTIONS) and node.name == name:
            return node, None
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, _FUNCTIONS) and member.name == name:
                    return member, node
    return None


def _names(node: ast.stmt) -> list[str]:
    """The names a definition binds (none for other statements)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.AnnAssign):
        return [node.target.id] if isinstance(node.target, ast.Name) else []
    if isinstance(node, ast.Assign):
        return [
            name.id
            for target in node.targets
            for name in ast.walk(target)
            if isinstance(name, ast.Name)
        ]
    return []


def _used(
    function: ast.AST, top: dict[str, ast.stmt], members: dict[str, ast.stmt]
) -> tuple[list[str], list[str]]:
    """The new module-level and class-level definitions ``function`` needs, transitively.

    Module-level names are used by bare name; class members also through an attribute
    (``self.helper``, ``cls.LIMIT``)."""
    used_top: dict[str, None] = {}
    used_members: dict[str, None] = {}
    pending: list[ast.AST] = [function]
    while pending:
        names, attributes = _references(pending.pop())
        for name in names:
            if name in top and name not in used_top:
                used_top[name] = None
                pending.append(top[name])
        for name in names | attributes:
            if name in members and name not in used_members:
                used_members[name] = None
                pending.append(members[name])
    order = list(top)
    return sorted(used_top, key=order.index), list(used_members)


def _takes_self(node: ast.stmt) -> bool:
    if not isinstance(node, _FUNCTIONS):
        return False
    arguments = [*node.args.posonlyargs, *node.args.args]
    return bool(arguments) and arguments[0].arg in ("self", "cls")


def _references(node: ast.AST) -> tuple[set[str], set[str]]:
    """The names ``node`` reads from outside (its own parameters and locals aside), and the
    attribute names it uses."""
    names: set[str] = set()
    attributes: set[str] = set()
    bound: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            (names if isinstance(child.ctx, ast.Load) else bound).add(child.id)
        elif isinstance(child, ast.Attribute):
            attributes.add(child.attr)
        elif isinstance(child, ast.arg):
            bound.add(child.arg)
        elif (
            isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and child is not node
        ):
            bound.add(child.name)
    return names - bound, attributes


def _with_helpers(
    code: str,
    tree: ast.Module,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    helpers: Sequence[str],
) -> str:
    """A bare body: the reply's imports, the helpers it needs, then the def's statements."""
    lines = code.split("\n")
    wanted = set(helpers)
    pieces = [
        _text(lines, node)
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom) or wanted & set(_names(node))
    ]
    body = function.body
    if len(body) > 1 and _is_docstring(body[0]):
        body = body[1:]
    pieces.append(_text(lines, body[0], end=body[-1].end_lineno))
    return "\n".join(pieces)


def _text(lines: list[str], node: ast.stmt, *, end: int | None = None) -> str:
    """The lines of ``node`` (with its decorators), dedented; a statement that starts after
    other code on its line (``def f(x): return x``) starts at its column."""
    decorators = getattr(node, "decorator_list", [])
    first = min([d.lineno for d in decorators] + [node.lineno])
    last = end or node.end_lineno or node.lineno
    head = lines[first - 1]
    if first == node.lineno and node.col_offset:
        raw = head.encode("utf-8")[node.col_offset :].decode("utf-8", "replace")
        head = " " * node.col_offset + raw
    return textwrap.dedent("\n".join([head, *lines[first:last]]))


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


# ---------------------------------------------------------------- the module as it is


@dataclass
class _Original:
    """The module's own top-level definitions and those of the stub's class, by name."""

    source: str | None
    stub: Stub

    @cached_property
    def tree(self) -> ast.Module | None:
        return parse_or_none(self.source) if self.source else None

    @cached_property
    def top_level(self) -> dict[str, list[ast.stmt]]:
        return _by_name(self.tree.body) if self.tree is not None else {}

    @cached_property
    def members(self) -> dict[str, list[ast.stmt]]:
        context = self.stub.class_context
        if context is None:
            return {}
        body: list[ast.stmt] | None = self.tree.body if self.tree is not None else None
        for part in context.qualified_name.split("."):
            found = [n for n in body or [] if isinstance(n, ast.ClassDef) and n.name == part]
            body = found[0].body if found else None
        if body is not None:
            return _by_name(body)
        # Without the module's text: the sibling methods the extract stage listed.
        siblings = (parse_or_none(s.strip() + " ...") for s in context.sibling_signatures)
        return {
            node.name: []
            for tree in siblings
            if tree is not None
            for node in tree.body
            if isinstance(node, _FUNCTIONS)
        }

    @property
    def class_prefix(self) -> str:
        context = self.stub.class_context
        return f"{context.qualified_name}." if context is not None else ""


def _by_name(body: list[ast.stmt]) -> dict[str, list[ast.stmt]]:
    found: dict[str, list[ast.stmt]] = {}
    for node in body:
        for name in _names(node):
            found.setdefault(name, []).append(node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                found.setdefault((alias.asname or alias.name).split(".")[0], []).append(node)
    return found


def _changed(
    emitted: dict[str, ast.stmt],
    original: dict[str, list[ast.stmt]],
    stub_names: Collection[str],
    *,
    prefix: str,
) -> Iterator[str]:
    """Names the reply re-defines differently from the module (stubs and elisions aside)."""
    for name, node in emitted.items():
        if name not in original or f"{prefix}{name}" in stub_names or _elided(node):
            continue
        mine = _shape(node)
        if original[name] and all(_shape(known) != mine for known in original[name]):
            yield f"{prefix}{name}"


def _elided(node: ast.stmt) -> bool:
    """A def whose body is only a placeholder: the model pointing at code it left out."""
    if not isinstance(node, _FUNCTIONS):
        return False
    body = node.body[1:] if len(node.body) > 1 and _is_docstring(node.body[0]) else node.body
    return all(
        isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in body
    )


def _shape(node: ast.stmt) -> str:
    """The code without docstrings, comments and layout."""
    copy = ast.parse(ast.unparse(node)).body[0]
    for child in ast.walk(copy):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if len(child.body) > 1 and _is_docstring(child.body[0]):
            child.body = child.body[1:]
    return ast.dump(copy)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(f"`{name}`" for name in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _problem(message: str, finding_code: str, names: list[str]) -> ReplyProblem:
    return ReplyProblem(message, code=REPLY_HELPERS, finding_code=finding_code, names=names)
