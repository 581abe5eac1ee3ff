"""Every module of the standard library goes through extraction.

Each module that Python itself compiles must extract without error; one that
extraction rejects must be one ``compile()`` rejects too (the deliberately
broken files under ``test/`` and ``lib2to3/tests/data``). For every function,
the signature must be the header exactly (parsing it back gives the same
parameters and return annotation) and the fast way of finding the header's
colon must agree with tokenizing. The modules are split over two processes.
"""

from __future__ import annotations

import ast
import os
import sysconfig
import time
import tokenize
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from unittest import mock

from pipeline.stages.extract import ExtractError, ExtractOptions, extract_stubs, extractor
from pipeline.stages.extract.extractor import _parse
from pipeline.stages.extract.headers import colon_by_tokenizing, header_colon, signature
from pipeline.stages.extract.source import SourceText
from pipeline.stages.extract.walk import scopes_in

from .helpers import ALL_KINDS

STDLIB = Path(sysconfig.get_paths()["stdlib"])
OPTIONS = ExtractOptions(
    markers=[*ALL_KINDS, "comment:TODO", "raise:Exception", "pass-comment:#"],
    skip_bodiless=False,
)


def _modules() -> list[Path]:
    return sorted(
        path
        for path in STDLIB.rglob("*.py")
        if not {"site-packages", "dist-packages"} & set(path.relative_to(STDLIB).parts)
    )


def _functions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in scopes_in(body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        yield from _functions(node.body)


def _header(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[object, ...]:
    """The shape of a header: its parameters, how many defaults, whether it returns."""
    args = node.args
    params = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    return (
        type(node),
        [(param.arg, param.annotation is None) for param in params if param is not None],
        len(args.posonlyargs),
        len(args.defaults),
        [default is None for default in args.kw_defaults],
        node.returns is None,
    )


_trees: list[ast.Module] = []


def _parse_and_keep(source: str, path: str | None) -> ast.Module:
    """Extraction's own parse, keeping the tree: parsing is most of the cost, so each
    module is parsed once."""
    tree = _parse(source, path)
    _trees.append(tree)
    return tree


def _check(path: Path) -> tuple[str, int, list[str]]:
    """Check one module: ("ok" | "rejected", its function count, problems found)."""
    raw = path.read_bytes()
    _trees.clear()
    try:
        with tokenize.open(path) as handle:
            code = handle.read()
        with mock.patch.object(extractor, "_parse", _parse_and_keep):
            result = extract_stubs(code, OPTIONS, path=str(path))
    except (SyntaxError, UnicodeDecodeError, ExtractError) as error:
        try:
            compile(raw, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return "rejected", 0, []
        return "ok", 0, [f"{path}: extraction failed but compile() accepts it: {error}"]
    problems: list[str] = []
    source = SourceText(code)
    functions = list(_functions(_trees.pop().body))
    for node in functions:
        where = f"{path}:{node.lineno} {node.name}"
        if header_colon(source, node) != colon_by_tokenizing(source, node):
            problems.append(f"{where}: the fast header colon disagrees with tokenize")
        text = signature(source, node)
        reparsed = ast.parse(text + " ...").body[0]
        assert isinstance(reparsed, ast.FunctionDef | ast.AsyncFunctionDef)
        if _header(reparsed) != _header(node):
            problems.append(f"{where}: the signature does not parse back: {text!r}")
    for stub in result.stubs:
        line = source.line(stub.span.start_line).decode()
        if not line[stub.span.start_column :].startswith(("def", "async")):
            problems.append(f"{path}: {stub.qualified_name}: the span does not start at def")
    return "ok", len(functions), problems


def test_every_stdlib_module_extracts() -> None:
    modules = _modules()
    assert len(modules) > 1000
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        outcomes = list(pool.map(_check, modules, chunksize=16))
    elapsed = time.perf_counter() - started
    problems = [problem for _, _, found in outcomes for problem in found]
    assert problems == []
    rejected = [
        path for path, (status, _, _) in zip(modules, outcomes, strict=True) if status == "rejected"
    ]
    # Only deliberately broken files are rejected, and there are few of them.
    assert len(rejected) < 30, rejected
    functions = sum(count for _, count, _ in outcomes)
    print(
        f"{len(modules)} modules, {functions} functions, {len(rejected)} rejected, {elapsed:.1f}s"
    )
