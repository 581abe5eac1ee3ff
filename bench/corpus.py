"""A benchmark corpus: real standard library modules with some function bodies turned into stubs.

Modules of the Python running the benchmark (``sysconfig.get_paths()["stdlib"]``), between
``MIN_LINES`` and ``MAX_LINES`` lines long, are taken in a seeded shuffle of their sorted
paths. In each, ``STUBS_PER_MODULE`` functions or methods chosen by the same seed get their
body (after the docstring, if any) replaced by one of the stub markers the extract stage
recognises, cycling through the four forms. The original bodies are kept, as written, as the
"generated" code to validate and inject, so the other stages get realistic input.

A module is used only when the stubbed text parses and the extract stage finds exactly the
chosen stubs in it (no stub of its own, no abstract method or overload among the chosen).
"""

from __future__ import annotations

import ast
import random
import re
import sysconfig
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.stages.extract import ExtractError, extract_stubs

MIN_LINES = 400
MAX_LINES = 650
STUBS_PER_MODULE = 10
DEFAULT_SEED = 20240301

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SKIPPED_PARTS = frozenset({"site-packages", "dist-packages", "test", "tests", "idle_test"})
_BODILESS_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})


def _markers(indent: str, newline: str) -> tuple[str, ...]:
    """The four stub forms, as whole lines at ``indent``."""
    return (
        f"{indent}raise NotImplementedError{newline}",
        f"{indent}...{newline}",
        f"{indent}# IMPLEMENTATION REQUIRED{newline}{indent}pass{newline}",
        f"{indent}pass  # Stub{newline}",
    )


@dataclass(frozen=True)
class StubbedModule:
    """One corpus entry: the stubbed module text and, per stub, the original body text."""

    relative_path: str
    source: str
    bodies: dict[str, str] = field(default_factory=dict)
    original_lines: int = 0

    @property
    def lines(self) -> int:
        return len(_LINE.findall(self.source))


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def candidate_paths(root: Path | None = None) -> list[Path]:
    """The stdlib's ``.py`` files of the right size, sorted, outside tests and site-packages."""
    return list(_candidate_paths(root or stdlib_root()))


@lru_cache(maxsize=4)
def _candidate_paths(root: Path) -> tuple[Path, ...]:
    found: list[Path] = []
    for path in sorted(root.rglob("*.py")):
        if _SKIPPED_PARTS.intersection(path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if MIN_LINES <= text.count("\n") <= MAX_LINES:
            found.append(path)
    return tuple(found)


def build_corpus(
    count: int, *, seed: int = DEFAULT_SEED, root: Path | None = None
) -> list[StubbedModule]:
    """``count`` stubbed modules (fewer if the standard library runs out of usable ones)."""
    root = root or stdlib_root()
    paths = candidate_paths(root)
    random.Random(seed).shuffle(paths)
    corpus: list[StubbedModule] = []
    for path in paths:
        if len(corpus) >= count:
            break
        relative = path.relative_to(root).as_posix()
        module = stub_module(path.read_text(encoding="utf-8"), relative, seed=seed)
        if module is not None:
            corpus.append(module)
    return corpus


@dataclass(frozen=True)
class Candidate:
    name: str
    first: int  # 1-based line of the first replaced statement
    last: int  # 1-based last line of the last replaced statement
    indent: str
    in_class: bool = False
    def_line: int = 0  # the line of ``def``
    after_header: int = 0  # the last line of the def's header, or of its docstring
    has_docstring: bool = False


def split_lines(source: str) -> list[str]:
    """The lines of ``source`` with their line breaks."""
    return _LINE.findall(source)


def stub_module(
    source: str, relative_path: str, *, seed: int = DEFAULT_SEED
) -> StubbedModule | None:
    """The module with ``STUBS_PER_MODULE`` bodies stubbed, or None when it does not qualify."""
    if "\f" in source or "\r" in source or "\t" in source:
        return None
    tree = parse_quietly(source)
    if tree is None or _stubs_found(source, relative_path) != set():
        return None
    lines = split_lines(source)
    candidates = stub_candidates(tree, lines)
    if len(candidates) < STUBS_PER_MODULE:
        return None
    rng = random.Random(f"{seed}:{relative_path}")
    chosen = sorted(rng.sample(candidates, STUBS_PER_MODULE), key=lambda c: c.first)
    stubbed, bodies = _stubbed(lines, chosen, (0, 1, 2, 3))
    if parse_quietly(stubbed) is None or _stubs_found(stubbed, relative_path) != set(bodies):
        return None
    return StubbedModule(
        relative_path=relative_path, source=stubbed, bodies=bodies, original_lines=len(lines)
    )


def stub_methods(
    source: str,
    relative_path: str,
    *,
    count: int = STUBS_PER_MODULE,
    forms: tuple[int, ...] = (2, 0),
    seed: int = DEFAULT_SEED,
) -> StubbedModule | None:
    """Up to ``count`` methods of the module's classes stubbed with the marker ``forms``
    (indexes into the four, by turns; default ``# IMPLEMENTATION REQUIRED`` and ``raise
    NotImplementedError``). Stubs the module already has stay; None when no method qualifies.
    """
    tree = parse_quietly(source)
    existing = _stubs_found(source, relative_path) if tree is not None else None
    if tree is None or existing is None:
        return None
    lines = split_lines(source)
    candidates = [c for c in stub_candidates(tree, lines) if c.in_class and c.name not in existing]
    if not candidates:
        return None
    rng = random.Random(f"{seed}:{relative_path}")
    chosen = sorted(rng.sample(candidates, min(count, len(candidates))), key=lambda c: c.first)
    stubbed, bodies = _stubbed(lines, chosen, forms)
    if parse_quietly(stubbed) is None:
        return None
    if _stubs_found(stubbed, relative_path) != existing | set(bodies):
        return None
    return StubbedModule(
        relative_path=relative_path, source=stubbed, bodies=bodies, original_lines=len(lines)
    )


def _stubbed(
    lines: list[str], chosen: list[Candidate], forms: tuple[int, ...]
) -> tuple[str, dict[str, str]]:
    """The text with the chosen bodies replaced by markers, and the bodies replaced."""
    pieces: list[str] = []
    bodies: dict[str, str] = {}
    position = 0
    for number, candidate in enumerate(chosen):
        pieces += lines[position : candidate.first - 1]
        pieces.append(_markers(candidate.indent, "\n")[forms[number % len(forms)]])
        bodies[candidate.name] = "".join(lines[candidate.first - 1 : candidate.last])
        position = candidate.last
    pieces += lines[position:]
    return "".join(pieces), bodies


def parse_quietly(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _stubs_found(source: str, relative_path: str) -> set[str] | None:
    try:
        result = extract_stubs(source, path=relative_path)
    except ExtractError:
        return None
    return {stub.qualified_name for stub in result.stubs}


def stub_candidates(tree: ast.Module, lines: list[str], *, unique: bool = True) -> list[Candidate]:
    """Functions whose body can be cut by whole lines, not nested in one another (with
    ``unique``, only those whose qualified name is defined once)."""
    found: list[Candidate] = []
    seen: dict[str, int] = {}

    def walk(statements: list[ast.stmt], scope: tuple[str, ...], in_protocol: bool) -> None:
        for node in statements:
            if isinstance(node, ast.ClassDef):
                protocol = any(_name_of(base) == "Protocol" for base in node.bases)
                walk(node.body, (*scope, node.name), protocol)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = ".".join((*scope, node.name))
                seen[name] = seen.get(name, 0) + 1
                candidate = _candidate(node, name, lines, in_class=bool(scope))
                if candidate is not None and not in_protocol:
                    found.append(candidate)
                # Nested functions are not candidates: an outer one may be chosen.
            else:
                for child in _blocks(node):
                    walk(child, scope, in_protocol)

    walk(tree.body, (), False)
    return [c for c in found if seen[c.name] == 1 or not unique]


def _blocks(node: ast.stmt) -> list[list[ast.stmt]]:
    blocks: list[list[ast.stmt]] = []
    for attribute in ("body", "orelse", "finalbody"):
        value = getattr(node, attribute, None)
        if isinstance(value, list):
            blocks.append(value)
    for handler in getattr(node, "handlers", []):
        blocks.append(handler.body)
    for case in getattr(node, "cases", []):
        blocks.append(case.body)
    return blocks


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name_of(node.value)
    return None


def _candidate(
    node: ast.FunctionDef | ast.AsyncFunctionDef, name: str, lines: list[str], *, in_class: bool
) -> Candidate | None:
    if any(_name_of(d) in _BODILESS_DECORATORS for d in node.decorator_list):
        return None
    body = node.body
    first = body[0]
    after_header = node.lineno
    has_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    if has_docstring:
        body = body[1:]
        after_header = first.end_lineno or first.lineno
    if not body:
        return None
    start, end = body[0], body[-1]
    assert end.end_lineno is not None and end.end_col_offset is not None
    first_line = lines[start.lineno - 1]
    indent = first_line[: start.col_offset]
    if indent.strip() or start.lineno <= node.lineno:
        return None  # the body shares a line with the def or the docstring
    last_line = lines[end.end_lineno - 1].encode()
    rest = last_line[end.end_col_offset :].decode(errors="replace").strip()
    if rest and not rest.startswith("#"):
        return None  # something follows the last statement on its line
    decorators: list[ast.expr] = getattr(start, "decorator_list", None) or []
    return Candidate(
        name=name,
        first=min([start.lineno, *(decorator.lineno for decorator in decorators)]),
        last=end.end_lineno,
        indent=indent,
        def_line=node.lineno,
        after_header=after_header,
        has_docstring=has_docstring,
        in_class=in_class,
    )
