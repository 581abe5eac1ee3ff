"""What a body needs from the rest of its module, within a budget of characters.

Built once per module from its source (with ``ast``: never imported nor run) and shared,
byte for byte, by the prompts of all the module's stubs, so that servers with prefix caching
reuse it. Two views:

* ``module``: the module itself with the stubs' bodies elided, when it fits the budget;
* ``outline``: the module condensed to what a body refers to: the imports, the module-level
  names (constants with their value when short), the functions' signatures with the first line
  of their docstring, and the classes with their decorators, bases, class-level fields
  (dataclass, attrs, NamedTuple, pydantic...), the attributes their methods set on instances
  (``__init__``'s assignments with their values, the others by name) and their methods.

An outline over the budget loses its least useful lines first, in a fixed order: docstring lines
of the classes that hold no stub (nor are a base of one), then their members, then the other
docstring lines, then the members of the classes with stubs, then module-level names, the
imports last; within one kind, from the end of the module up. A class with stubs that does not
fit whole gets an outline of its own, which goes in the part of the prompt of its stubs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Literal

from pipeline.models import ExtractionResult
from pipeline.stages.syntax_tree import parse_or_none

DEFAULT_BUDGET_CHARS = 6000
"""The default of ``CODEGEN_PROMPT_BUDGET_CHARS``."""
CACHED_MODULES = 32
CONTEXT_INLINE_LIMIT_CHARS = 64 * 1024
"""A larger module's context is built in a thread, off the worker's event loop."""

MAX_VALUE_CHARS = 60
"""A value longer than this (or on several lines) is shown as ``...``."""
MAX_SLOTS_CHARS = 400
MAX_DOC_LINE_CHARS = 100
INDENT = "    "
INIT_METHODS = frozenset({"__init__", "__new__", "__post_init__", "__attrs_post_init__", "setUp"})

View = Literal["module", "outline", "imports"]


class Priority(IntEnum):
    """How long a line of the outline is kept: the lowest go first."""

    OTHER_DOC = 1
    OTHER_MEMBER = 2
    DOC = 3
    MEMBER = 4
    NAME = 5
    IMPORT = 6


@dataclass(frozen=True)
class ModuleContext:
    """The module part of a prompt: ``code`` to show and which ``view`` it is."""

    code: str
    view: View
    shown_classes: frozenset[str] = frozenset()
    """Classes whose members (methods, fields, attributes) are all in ``code``."""
    dropped_lines: int = 0
    class_outlines: tuple[tuple[str, str], ...] = ()
    """For a class with stubs not in ``shown_classes``: its own outline, for its stubs' part."""

    def class_outline(self, qualified_name: str) -> str | None:
        return dict(self.class_outlines).get(qualified_name)


def context_from_imports(imports: Sequence[str]) -> ModuleContext:
    """The context when only the import statements are known."""
    return ModuleContext(code="\n".join(imports), view="imports")


def build_module_context(
    source: str | None,
    extraction: ExtractionResult,
    *,
    budget: int = DEFAULT_BUDGET_CHARS,
    cached: bool = False,
) -> ModuleContext:
    """The context of every stub of ``extraction``, from the module's ``source``.

    ``cached`` remembers the last modules' contexts (a repair attempt reuses its module's).
    """
    if not source:
        return context_from_imports(extraction.imports)
    build = _cached_build if cached else _build
    return build(source, *_key(extraction), budget)


Spans = frozenset[tuple[int, int]]


def _key(extraction: ExtractionResult) -> tuple[Spans, frozenset[str], tuple[str, ...]]:
    spans = frozenset((stub.span.start_line, stub.span.end_line) for stub in extraction.stubs)
    classes = frozenset(c.qualified_name for s in extraction.stubs if (c := s.class_context))
    return spans, classes, tuple(extraction.imports)


def _build(
    source: str, spans: Spans, classes: frozenset[str], imports: tuple[str, ...], budget: int
) -> ModuleContext:
    tree = parse_or_none(source)
    if tree is None:
        return context_from_imports(imports)
    lines = source.splitlines()
    stub_chars = sum(len(lines[i]) + 1 for start, end in spans for i in range(start - 1, end))
    if len(source) - stub_chars <= budget:  # else the module view cannot fit: skip it
        module = _elided(lines, tree, frozenset(start for start, _end in spans))
        if len(module) <= budget:
            return ModuleContext(code=module, view="module", shown_classes=classes)
    outline = _Outline(_relevant_classes(tree, classes))
    outline.module(tree)
    return outline.fitted(budget, classes)


_cached_build = lru_cache(maxsize=CACHED_MODULES)(_build)


# -- the module view


def _elided(lines: list[str], tree: ast.Module, stub_lines: frozenset[int]) -> str:
    """The module's lines with the body of every stub (after its docstring) as ``...``."""
    lines = list(lines)
    cuts: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.lineno not in stub_lines:
            continue
        docstring = _docstring_node(node)
        body = node.body[1:] if docstring is not None else node.body
        if not body or body[0].lineno <= node.lineno:
            continue
        first, last = body[0].lineno, body[-1].end_lineno or body[-1].lineno
        after = docstring.end_lineno or docstring.lineno if docstring else node.lineno
        while first - 1 > after and lines[first - 2].lstrip().startswith("#"):
            first -= 1  # a marker comment before the first statement goes too
        cuts.append((first, last, " " * body[0].col_offset + "..."))
    for first, last, replacement in sorted(cuts, reverse=True):
        lines[first - 1 : last] = [replacement]
    return "\n".join(line.rstrip() for line in lines).strip("\n")


# -- the outline


@dataclass
class _Line:
    text: str
    priority: Priority
    depth: int
    header: bool = False


@dataclass
class _Outline:
    relevant: frozenset[str]
    lines: list[_Line] = field(default_factory=list)
    members: dict[str, list[int]] = field(default_factory=dict)
    """Class qualified name → the indexes of its member lines."""
    headers: dict[str, int] = field(default_factory=dict)
    """Class qualified name → the index of its header line."""

    def add(self, text: str, priority: Priority, depth: int, *, header: bool = False) -> int:
        indented = "\n".join(INDENT * depth + line for line in text.split("\n"))
        self.lines.append(_Line(indented, priority, depth, header))
        return len(self.lines) - 1

    def module(self, tree: ast.Module) -> None:
        docstring = ast.get_docstring(tree)
        if docstring:
            self.add(f'"""{_first_line(docstring)}"""', Priority.DOC, 0)
        for statement in _top_level(tree.body):
            self.statement(statement, depth=0, scope=(), owner=None)

    def statement(
        self, node: ast.stmt, *, depth: int, scope: tuple[str, ...], owner: str | None
    ) -> None:
        """One statement of the module (``owner`` None) or of a class body."""
        member = self._member_priority(owner)
        if isinstance(node, ast.Import | ast.ImportFrom):
            priority = Priority.IMPORT if owner is None else member
            self._member(owner, self.add(ast.unparse(node), priority, depth))
        elif isinstance(node, ast.ClassDef):
            self.class_def(node, depth=depth, scope=scope, owner=owner)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.function(node, depth=depth, owner=owner)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            text = _assignment(node)
            if text is not None:
                priority = Priority.NAME if owner is None else member
                self._member(owner, self.add(text, priority, depth))

    def class_def(
        self, node: ast.ClassDef, *, depth: int, scope: tuple[str, ...], owner: str | None
    ) -> None:
        qualified = ".".join((*scope, node.name))
        self.members.setdefault(qualified, [])
        header = _decorated(node, f"class {node.name}{_bases(node)}:")
        priority = Priority.NAME if owner is None else self._member_priority(owner)
        self.headers[qualified] = self.add(header, priority, depth, header=True)
        self._member(owner, self.headers[qualified])
        docstring = ast.get_docstring(node)
        if docstring:
            self.add(_doc_line(docstring), self._doc_priority(qualified), depth + 1)
        fields = [s for s in node.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
        methods = [s for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
        for statement in fields:
            if isinstance(statement, ast.Expr):
                continue
            self.statement(statement, depth=depth + 1, scope=(*scope, node.name), owner=qualified)
        attributes = _InstanceAttributes(
            methods, class_names=_bound_names(fields), reads=qualified in self.relevant
        )
        member = self._member_priority(qualified)
        later = attributes.set_outside_init()
        if later:
            text = f"# set by other methods: {', '.join(later)}"
            self._member(qualified, self.add(text, member, depth + 1))
        unset = attributes.read_not_set()
        if unset:
            text = f"# read by its methods, not set in this class: {', '.join(unset)}"
            self._member(qualified, self.add(text, member, depth + 1))
        for method in methods:
            self.function(method, depth=depth + 1, owner=qualified)
            for text in attributes.init_lines(method):
                priority = self._member_priority(qualified)
                self._member(qualified, self.add(text, priority, depth + 2))

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, *, depth: int, owner: str | None
    ) -> None:
        priority = Priority.NAME if owner is None else self._member_priority(owner)
        self._member(owner, self.add(_decorated(node, _signature(node)), priority, depth))
        docstring = ast.get_docstring(node)
        if docstring:
            doc_priority = Priority.DOC if owner is None else self._doc_priority(owner)
            self.add(_doc_line(docstring), doc_priority, depth + 1)

    def _member(self, owner: str | None, index: int) -> None:
        if owner is not None:
            self.members[owner].append(index)

    def _member_priority(self, owner: str | None) -> Priority:
        return Priority.MEMBER if owner is None or owner in self.relevant else Priority.OTHER_MEMBER

    def _doc_priority(self, owner: str) -> Priority:
        return Priority.DOC if owner in self.relevant else Priority.OTHER_DOC

    def fitted(self, budget: int, with_stubs: frozenset[str] = frozenset()) -> ModuleContext:
        """The outline, its least useful lines dropped until it fits ``budget``.

        A class of ``with_stubs`` that does not fit whole gets an outline of its own, for the
        prompts of its stubs (at most half the budget).
        """
        kept = [True] * len(self.lines)
        size = sum(len(line.text) + 1 for line in self.lines)
        order = sorted(range(len(self.lines)), key=lambda i: (self.lines[i].priority, -i))
        dropped = 0
        for index in order:
            if size <= budget:
                code = self._render(kept)
                if len(code) <= budget:
                    break
                size = len(code)
            kept[index] = False
            size -= len(self.lines[index].text) + 1
            dropped += 1
        code = self._render(kept)
        shown = frozenset(
            name for name, indexes in self.members.items() if all(kept[i] for i in indexes)
        )
        own = tuple(
            (name, self._class_outline(name).fitted(budget // 2).code)
            for name in sorted(with_stubs - shown)
            if name in self.headers
        )
        return ModuleContext(
            code=code,
            view="outline",
            shown_classes=shown,
            dropped_lines=dropped,
            class_outlines=own,
        )

    def _class_outline(self, name: str) -> _Outline:
        """The lines of one class, as an outline of their own (indented from 0)."""
        start = self.headers[name]
        depth = self.lines[start].depth
        end = start + 1
        while end < len(self.lines) and self.lines[end].depth > depth:
            end += 1
        cut = len(INDENT) * depth
        outline = _Outline(self.relevant)
        for line in self.lines[start:end]:
            text = "\n".join(part[cut:] for part in line.text.split("\n"))
            outline.lines.append(_Line(text, line.priority, line.depth - depth, line.header))
        return outline

    def _render(self, kept: list[bool]) -> str:
        out: list[str] = []
        for index, line in enumerate(self.lines):
            if not kept[index]:
                continue
            text = line.text
            if line.header and not self._has_kept_child(index, kept):
                text += " ..."
            out.append(text)
        return "\n".join(out)

    def _has_kept_child(self, index: int, kept: list[bool]) -> bool:
        depth = self.lines[index].depth
        for later in range(index + 1, len(self.lines)):
            if self.lines[later].depth <= depth:
                return False
            if kept[later]:
                return True
        return False


class _InstanceAttributes:
    """What a class's methods assign to ``self.X`` (or ``cls.X``), and read, in source order."""

    def __init__(
        self,
        methods: Sequence[ast.FunctionDef | ast.AsyncFunctionDef],
        *,
        class_names: set[str],
        reads: bool,
    ) -> None:
        """``reads``: also collect what the methods read (a walk of every body: only for the
        classes the stubs are in)."""
        self.shown: set[str] = set()
        self.by_method: dict[int, list[tuple[ast.stmt, list[str]]]] = {}
        self.read: dict[str, None] = {}
        for method in methods:
            receiver = _receiver(method)
            if receiver is not None:
                self.by_method[id(method)] = list(_self_assignments(method, receiver))
                if reads:
                    self.read.update(dict.fromkeys(_self_reads(method, receiver)))
        self._init_ids = {id(m) for m in methods if m.name in INIT_METHODS}
        self._known = class_names | {m.name for m in methods}
        for method in methods:
            if id(method) in self._init_ids:
                for _statement, names in self.by_method.get(id(method), []):
                    self.shown.update(names)

    def read_not_set(self) -> list[str]:
        """``self.X`` the methods read that neither they nor the class body set."""
        assigned = {n for found in self.by_method.values() for _s, names in found for n in names}
        known = assigned | self._known
        return [
            f"self.{name}"
            for name in self.read
            if name not in known and not (name.startswith("__") and name.endswith("__"))
        ]

    def set_outside_init(self) -> list[str]:
        """``self.X`` for the attributes only methods other than ``__init__`` set."""
        found: list[str] = []
        seen = set(self.shown)
        for key, assignments in self.by_method.items():
            if key in self._init_ids:
                continue
            for _statement, names in assignments:
                for name in names:
                    if name not in seen:
                        seen.add(name)
                        found.append(f"self.{name}")
        return found

    def init_lines(self, method: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[str]:
        """The assignments of an ``__init__``-like method, once per attribute."""
        if id(method) not in self._init_ids:
            return
        printed: set[str] = set()
        for statement, names in self.by_method.get(id(method), []):
            if set(names) <= printed:
                continue
            printed.update(names)
            yield _assignment(statement) or ", ".join(f"self.{n} = ..." for n in names)


def _self_assignments(
    method: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str
) -> Iterator[tuple[ast.stmt, list[str]]]:
    for statement in _statements(method.body):
        targets: Iterable[ast.expr] = ()
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
            targets = [statement.target]
        elif isinstance(statement, ast.With | ast.AsyncWith):
            targets = [i.optional_vars for i in statement.items if i.optional_vars is not None]
        names = [
            node.attr
            for target in targets
            for node in ast.walk(target)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == receiver
            and isinstance(node.ctx, ast.Store)
        ]
        if names:
            yield statement, names


def _self_reads(method: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str) -> list[str]:
    """``X`` of every ``self.X`` the method reads, in source order."""
    reads = [
        node
        for node in ast.walk(method)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id == receiver
    ]
    reads.sort(key=lambda node: (node.lineno, node.col_offset))
    return [node.attr for node in reads]


def _bound_names(statements: Iterable[ast.stmt]) -> set[str]:
    """The names class-level statements bind (fields, constants, nested classes)."""
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a function body, nested blocks included, nested scopes excluded."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                yield from _statements(block)
        for handler in getattr(statement, "handlers", ()):
            yield from _statements(handler.body)
        for case in getattr(statement, "cases", ()):
            yield from _statements(case.body)


def _receiver(method: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name of ``self`` (or ``cls``): the first parameter, unless a staticmethod."""
    if any(_decorator_name(d) == "staticmethod" for d in method.decorator_list):
        return None
    parameters = [*method.args.posonlyargs, *method.args.args]
    return parameters[0].arg if parameters else None


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The module's statements, the blocks of top-level ``if``/``try``/``with`` flattened.

    An alternative (``else``, ``except``) is left out when it binds nothing new: ``try:
    import zlib`` / ``except ImportError: zlib = None`` shows the import alone.
    """
    bound: set[str] = set()
    for statement, alternative in _flattened(body, alternative=False):
        names = _binds(statement)
        if alternative and names <= bound:
            continue
        bound |= names
        yield statement


def _flattened(body: Sequence[ast.stmt], *, alternative: bool) -> Iterator[tuple[ast.stmt, bool]]:
    for statement in body:
        if isinstance(statement, ast.If):
            if "__name__" in {n.id for n in ast.walk(statement.test) if isinstance(n, ast.Name)}:
                continue
            yield from _flattened(statement.body, alternative=alternative)
            yield from _flattened(statement.orelse, alternative=True)
        elif isinstance(statement, ast.Try | ast.TryStar):
            yield from _flattened(statement.body, alternative=alternative)
            for handler in statement.handlers:
                yield from _flattened(handler.body, alternative=True)
            yield from _flattened(statement.orelse, alternative=alternative)
            yield from _flattened(statement.finalbody, alternative=alternative)
        elif isinstance(statement, ast.With):
            yield from _flattened(statement.body, alternative=alternative)
        else:
            yield statement, alternative


def _binds(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).partition(".")[0] for a in statement.names}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    return _bound_names([statement])


def _relevant_classes(tree: ast.Module, with_stubs: frozenset[str]) -> frozenset[str]:
    """The classes with stubs, their enclosing classes and their bases in the module."""
    classes: dict[str, ast.ClassDef] = {}

    def collect(body: Sequence[ast.stmt], scope: tuple[str, ...]) -> None:
        for node in _top_level(body):
            if isinstance(node, ast.ClassDef):
                classes[".".join((*scope, node.name))] = node
                collect(node.body, (*scope, node.name))

    collect(tree.body, ())
    relevant: set[str] = set()
    pending = [name for name in sorted(with_stubs) if name in classes]
    while pending:
        name = pending.pop()
        if name in relevant:
            continue
        relevant.add(name)
        parts = name.split(".")
        pending.extend(".".join(parts[:end]) for end in range(1, len(parts)))
        for base in classes[name].bases:
            base_name = ast.unparse(base)
            if base_name in classes:
                pending.append(base_name)
    return frozenset(relevant)


def _assignment(node: ast.stmt) -> str | None:
    """``target = value``, the value elided when long; None for what is not worth showing."""
    if isinstance(node, ast.Assign):
        target = " = ".join(ast.unparse(t) for t in node.targets)
        value: ast.expr | None = node.value
        annotation = ""
    elif isinstance(node, ast.AnnAssign):
        target, value = ast.unparse(node.target), node.value
        annotation = f": {ast.unparse(node.annotation)}"
    elif isinstance(node, ast.AugAssign):
        target = ast.unparse(node.target)
        return f"{target} {_OPERATORS.get(type(node.op), '?')}= {_short(node.value, target)}"
    else:
        return None
    if value is None:
        return f"{target}{annotation}"
    return f"{target}{annotation} = {_short(value, target)}"


_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitOr: "|",
    ast.BitAnd: "&",
}


def _short(value: ast.expr, target: str) -> str:
    text = ast.unparse(value)
    limit = MAX_SLOTS_CHARS if target.endswith("__slots__") else MAX_VALUE_CHARS
    return text if len(text) <= limit and "\n" not in text else "..."


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}:"


def _decorated(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, line: str) -> str:
    return "\n".join([*(f"@{ast.unparse(d)}" for d in node.decorator_list), line])


def _bases(node: ast.ClassDef) -> str:
    parts = [ast.unparse(b) for b in node.bases]
    parts += [ast.unparse(k) for k in node.keywords]
    return f"({', '.join(parts)})" if parts else ""


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _docstring_node(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Expr | None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _first_line(docstring: str) -> str:
    line = docstring.strip().splitlines()[0].strip() if docstring.strip() else ""
    line = line.replace('"""', "'''")
    return line if len(line) <= MAX_DOC_LINE_CHARS else line[: MAX_DOC_LINE_CHARS - 3] + "..."


def _doc_line(docstring: str) -> str:
    return f'"""{_first_line(docstring)}"""'
