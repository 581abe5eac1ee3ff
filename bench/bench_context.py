"""Does the prompt carry what a body needs? Measured on standard-library methods.

    python -m bench context [--modules shlex,argparse,...] [--stubs 10] [--budget CHARS]
                            [--output bench/results/context.json]

In each module, up to ``--stubs`` methods with real bodies (seeded choice) are stubbed with
``# IMPLEMENTATION REQUIRED`` or ``raise NotImplementedError`` (see :func:`bench.corpus.
stub_methods`); the extract stage finds the stubs and the ``openai`` generator builds their
prompts, as it would for a request (settings from the environment, ``--budget`` overriding
``CODEGEN_PROMPT_BUDGET_CHARS``). No model is called.

Of the names an original body uses from outside the function, per kind:

- ``attribute``: ``self.X`` (or ``cls.X``) where ``X`` is set at class level, or set or read
  on instances by the methods, of the class or one of its bases in the stubbed module;
- ``method``: ``self.X`` where ``X`` is a method (or property) of the class or of a base;
- ``module``: a name the module binds at top level with ``def``, ``class`` or an assignment;
- ``import``: a name the module binds at top level with an import;

the share the prompt defines: ``self.X`` or a field ``X`` for an attribute, ``def X`` for a
method, a definition or an assignment of ``X`` for a module-level name, an import binding ``X``.
``self.X`` that the stubbed module does not mention (inherited from elsewhere, or used only in
bodies that were stubbed) is counted apart as unknowable; dunders (``__class__``) are left
out. The same figures for the prompt as it was (the imports and the enclosing class's
signatures, no module context) are the baseline.

Also: prompt sizes (characters of the system and user messages), the share of prompt bytes
that is a prefix common to all the prompts of a module (what a server's prefix cache reuses),
and the time to build a module's context (parsing included; the fastest of three builds).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import importlib.util
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.bench_stages import percentile
from bench.corpus import DEFAULT_SEED, stub_methods
from bench.report import markdown_table, styled_table, write_results
from pipeline.models import Stub
from pipeline.settings import Settings
from pipeline.stages.extract import extract_stubs
from pipeline.stages.generate import GenerationTask
from pipeline.stages.generate.context import build_module_context, context_from_imports
from pipeline.stages.generate.openai import OpenAIGenerator
from pipeline.stages.generate.prompts import ChatMessage

MODULES = (
    "shlex",
    "argparse",
    "configparser",
    "csv",
    "difflib",
    "fractions",
    "ipaddress",
    "json.decoder",
    "logging",
    "pprint",
    "queue",
    "sched",
    "string",
    "textwrap",
    "threading",
    "tokenize",
    "zipfile",
    "calendar",
    "dataclasses",
    "email.message",
    "gettext",
    "smtplib",
    "wave",
    "selectors",
)
KINDS = ("attribute", "method", "module", "import")
GOALS = {"coverage": 0.95, "median_prompt_chars": 8000, "shared_prefix": 0.60}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "context.json"
_BUILTINS = frozenset(dir(builtins))


# ---------------------------------------------------------------- what a body uses


@dataclass(frozen=True)
class _ClassInfo:
    methods: frozenset[str]
    attributes: frozenset[str]
    """Set at class level or on instances by the methods, or read by the methods."""
    bases: tuple[str, ...]


@dataclass
class _ModuleNames:
    """What the (stubbed) module defines: top-level bindings and its classes' members."""

    imported: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)
    classes: dict[str, _ClassInfo] = field(default_factory=dict)

    def member(self, class_name: str, name: str) -> str | None:
        """``method``, ``attribute`` or None, looking through the bases in the module."""
        hierarchy = list(self._hierarchy(class_name))
        if any(name in info.methods for info in hierarchy):
            return "method"
        if any(name in info.attributes for info in hierarchy):
            return "attribute"
        return None

    def _hierarchy(self, class_name: str) -> Iterator[_ClassInfo]:
        seen: set[str] = set()
        pending = [class_name]
        while pending:
            current = pending.pop()
            info = self.classes.get(current)
            if info is None or current in seen:
                continue
            seen.add(current)
            yield info
            pending.extend(info.bases)


def module_names(tree: ast.Module) -> _ModuleNames:
    names = _ModuleNames()

    def top(body: Sequence[ast.stmt], scope: tuple[str, ...]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom) and not scope:
                for alias in node.names:
                    names.imported.add((alias.asname or alias.name).partition(".")[0])
            elif isinstance(node, ast.ClassDef):
                if not scope:
                    names.defined.add(node.name)
                names.classes[".".join((*scope, node.name))] = _class_info(node)
                top(node.body, (*scope, node.name))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not scope:
                    names.defined.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and not scope:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.defined.update(_stored_names(targets))
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody"):
                    top(getattr(node, block, []), scope)
                for handler in getattr(node, "handlers", []):
                    top(handler.body, scope)

    top(tree.body, ())
    return names


def _class_info(node: ast.ClassDef) -> _ClassInfo:
    methods = {s.name for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    attributes: set[str] = set()
    for statement in node.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            attributes.update(_stored_names(targets))
    for method in node.body:
        if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            receiver = _receiver(method)
            for child in ast.walk(method):
                if (
                    isinstance(child, ast.Attribute)
                    and isinstance(child.value, ast.Name)
                    and child.value.id == receiver
                ):
                    attributes.add(child.attr)
    bases = tuple(ast.unparse(base) for base in node.bases)
    return _ClassInfo(frozenset(methods), frozenset(attributes - methods), bases)


def _stored_names(targets: Iterable[ast.expr]) -> set[str]:
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _receiver(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    parameters = [*node.args.posonlyargs, *node.args.args]
    return parameters[0].arg if parameters else None


def _function(tree: ast.Module, qualified_name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    parts = qualified_name.split(".")
    body: Sequence[ast.stmt] = tree.body
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        for node in _flattened(body):
            if getattr(node, "name", None) == part and (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) if last else True
            ):
                if last:
                    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    return node
                body = node.body  # type: ignore[attr-defined]
                break
    raise LookupError(qualified_name)


def _flattened(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    for node in body:
        if isinstance(node, ast.If | ast.Try):
            yield from _flattened(node.body)
            yield from _flattened(node.orelse)
            for handler in getattr(node, "handlers", []):
                yield from _flattened(handler.body)
        else:
            yield node


def used_names(
    function: ast.FunctionDef | ast.AsyncFunctionDef, class_name: str | None, module: _ModuleNames
) -> dict[str, set[str]]:
    """Kind → the outside names the body uses; ``unknowable`` for ``self.X`` not in the module."""
    found: dict[str, set[str]] = {kind: set() for kind in (*KINDS, "unknowable")}
    local = _local_names(function)
    receiver = _receiver(function) if class_name else None
    for node in ast.walk(function):
        if (
            receiver is not None
            and isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == receiver
        ):
            assert class_name is not None
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue  # the language's (__class__, __dict__), not the module's
            kind = module.member(class_name, node.attr)
            found[kind or "unknowable"].add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in local:
                continue
            if node.id in module.imported:
                found["import"].add(node.id)
            elif node.id in module.defined:
                found["module"].add(node.id)
    return found


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    local: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            local.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node is not function:
                local.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            local.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
    for node in ast.walk(function):
        if isinstance(node, ast.Global | ast.Nonlocal):
            local.difference_update(node.names)
    return local


# ---------------------------------------------------------------- what a prompt defines

_DEF = re.compile(r"^\s*(?:async\s+def|def|class)\s+(\w+)")
_ASSIGNED = re.compile(r"^\s*([\w.\s,()\[\]*]+?)\s*(?::[^=]*)?(?:[-+*/|&%]|//)?=(?!=)")
_SELF = re.compile(r"\b(?:self|cls)\.(\w+)")
_QUOTED = re.compile(r"""['"](\w+)['"]""")


@dataclass
class PromptNames:
    defs: set[str] = field(default_factory=set)
    assigned: set[str] = field(default_factory=set)
    instance: set[str] = field(default_factory=set)
    imported: set[str] = field(default_factory=set)

    def defines(self, kind: str, name: str) -> bool:
        if kind == "attribute":
            return name in self.instance or name in self.assigned
        if kind == "method":
            return name in self.defs
        if kind == "module":
            return name in self.defs or name in self.assigned
        return name in self.imported


def prompt_names(user_message: str) -> PromptNames:
    """The names a prompt's code defines, read line by line (the system message has none)."""
    names = PromptNames()
    for line in user_message.splitlines():
        names.instance.update(_SELF.findall(line))
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")):
            try:
                tree = ast.parse(stripped)
            except SyntaxError:
                continue
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names.imported.update(
                        (a.asname or a.name).partition(".")[0] for a in node.names
                    )
            continue
        match = _DEF.match(line)
        if match:
            names.defs.add(match.group(1))
            continue
        assigned = _ASSIGNED.match(line)
        if assigned:
            target = assigned.group(1)
            names.assigned.update(re.findall(r"\b\w+\b", target))
            if "__slots__" in target:
                names.assigned.update(_QUOTED.findall(line))
    return names


# ---------------------------------------------------------------- the benchmark


@dataclass
class _Tally:
    used: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    missing: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    def add(self, kind: str, name: str, present: bool, where: str) -> None:
        self.used[kind] += 1
        if present:
            self.found[kind] += 1
        else:
            self.missing[kind].append(f"{where}: {name}")

    def shares(self) -> dict[str, float | None]:
        return {k: (self.found[k] / self.used[k] if self.used[k] else None) for k in KINDS}


def _prompt_text(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(f"{m.role}\n{m.content}" for m in messages)


def _common_prefix(texts: Sequence[bytes]) -> int:
    if not texts:
        return 0
    first, last = min(texts), max(texts)
    size = 0
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        size += 1
    return size


def _fastest_ms(call: Callable[[], object]) -> float:
    """The fastest of three calls, in ms (the machine may be busy)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def _module_source(name: str) -> tuple[str, str]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise LookupError(name)
    return spec.origin, Path(spec.origin).read_text(encoding="utf-8")


def run(
    modules: Sequence[str] = MODULES,
    stubs: int = 10,
    budget: int | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    if budget is not None:
        settings = settings.model_copy(update={"prompt_budget_chars": budget})
    generator = OpenAIGenerator.from_settings(settings)
    tally, baseline = _Tally(), _Tally()
    sizes: list[int] = []
    shared_bytes = total_bytes = 0
    per_module: list[dict[str, Any]] = []
    build_ms: list[float] = []
    parse_ms: list[float] = []
    unknowable = 0
    try:
        for name in modules:
            path, source = _module_source(name)
            stubbed = stub_methods(source, name, count=stubs, seed=seed)
            if stubbed is None:
                per_module.append({"module": name, "skipped": "no method to stub"})
                continue
            extraction = extract_stubs(stubbed.source, path=name)
            task = GenerationTask(extraction=extraction, source=stubbed.source)
            build_ms.append(
                _fastest_ms(
                    partial(
                        build_module_context,
                        stubbed.source,
                        extraction,
                        budget=generator.prompt_budget,
                    )
                )
            )
            parse_ms.append(_fastest_ms(partial(ast.parse, stubbed.source)))
            context = generator.module_context(task)
            old_context = context_from_imports(extraction.imports)
            stubs_by_name = {stub.qualified_name: stub for stub in extraction.stubs}
            prompts = {
                s.qualified_name: generator.messages(s, task, context)
                for s in stubs_by_name.values()
            }
            encoded = [_prompt_text(m).encode("utf-8") for m in prompts.values()]
            prefix = _common_prefix(encoded) if len(encoded) > 1 else 0
            shared_bytes += prefix * len(encoded)
            total_bytes += sum(len(e) for e in encoded)
            sizes.extend(len(m[0].content) + len(m[1].content) for m in prompts.values())
            original = ast.parse(source)
            names = module_names(ast.parse(stubbed.source))
            for qualified_name in stubbed.bodies:
                stub: Stub = stubs_by_name[qualified_name]
                class_name = stub.class_context.qualified_name if stub.class_context else None
                used = used_names(_function(original, qualified_name), class_name, names)
                unknowable += len(used["unknowable"])
                new = prompt_names(prompts[qualified_name][1].content)
                old = prompt_names(generator.messages(stub, task, old_context)[1].content)
                where = f"{name}:{qualified_name}"
                for kind in KINDS:
                    for used_name in sorted(used[kind]):
                        tally.add(kind, used_name, new.defines(kind, used_name), where)
                        baseline.add(kind, used_name, old.defines(kind, used_name), where)
            per_module.append(
                {
                    "module": name,
                    "path": Path(path).name,
                    "lines": stubbed.original_lines,
                    "stubs": len(encoded),
                    "measured": len(stubbed.bodies),
                    "view": context.view,
                    "context_chars": len(context.code),
                    "dropped_lines": context.dropped_lines,
                    "shared_prefix": prefix / statistics.mean(len(e) for e in encoded),
                }
            )
    finally:
        asyncio.run(generator.aclose())
    shares = tally.shares()
    shared = shared_bytes / total_bytes if total_bytes else 0.0
    median_chars = statistics.median(sizes) if sizes else 0
    met = {
        "coverage": all(v is not None and v >= GOALS["coverage"] for v in shares.values()),
        "median_prompt_chars": median_chars <= GOALS["median_prompt_chars"],
        "shared_prefix": shared >= GOALS["shared_prefix"],
    }
    return {
        "benchmark": "context",
        "config": {
            "modules": [m["module"] for m in per_module if "skipped" not in m],
            "stubs_per_module": stubs,
            "budget_chars": generator.prompt_budget,
            "seed": seed,
            "python": sys.version.split()[0],
        },
        "coverage": {
            kind: {
                "used": tally.used[kind],
                "in_prompt": tally.found[kind],
                "share": shares[kind],
                "baseline_share": baseline.shares()[kind],
                "missing": tally.missing[kind],
            }
            for kind in KINDS
        },
        "unknowable_self_names": unknowable,
        "prompt_chars": {
            "median": median_chars,
            "p95": percentile(sizes, 0.95) if sizes else 0,
            "max": max(sizes, default=0),
            "prompts": len(sizes),
        },
        "shared_prefix_share": shared,
        "context_build_ms": _spread(build_ms),
        "parse_ms": _spread(parse_ms),
        "modules": per_module,
        "goals": GOALS,
        "met": met,
    }


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "p95": 0.0}
    return {"median": statistics.median(values), "p95": percentile(values, 0.95)}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for kind, figures in results["coverage"].items():
        share = figures["share"]
        met = share is not None and share >= results["goals"]["coverage"]
        found.append(
            (
                kind,
                str(figures["used"]),
                _percent(share),
                _percent(figures["baseline_share"]),
                f"≥ {results['goals']['coverage'] * 100:.0f}%",
                "yes" if met else "no",
            )
        )
    prompt = results["prompt_chars"]
    found.append(
        (
            "prompt chars (median / p95)",
            str(prompt["prompts"]),
            f"{prompt['median']:,.0f} / {prompt['p95']:,.0f}",
            "",
            f"≤ {results['goals']['median_prompt_chars']:,} median",
            "yes" if results["met"]["median_prompt_chars"] else "no",
        )
    )
    found.append(
        (
            "shared prefix (bytes)",
            str(prompt["prompts"]),
            _percent(results["shared_prefix_share"]),
            "",
            f"≥ {results['goals']['shared_prefix'] * 100:.0f}%",
            "yes" if results["met"]["shared_prefix"] else "no",
        )
    )
    return found


_COLUMNS = ("measure", "count", "value", "before", "goal", "met")


def _caption(results: dict[str, Any]) -> str:
    config = results["config"]
    build, parse = results["context_build_ms"], results["parse_ms"]
    return (
        f"{len(config['modules'])} standard-library modules, up to {config['stubs_per_module']} "
        f"methods stubbed in each, budget {config['budget_chars']:,} characters; "
        f"{results['unknowable_self_names']} self names the stubbed module does not define "
        f"left out; a module's context built in {build['median']:.1f} ms median, "
        f"{build['p95']:.1f} ms p95 (parsing alone: {parse['median']:.1f} / {parse['p95']:.1f} ms)."
    )


def print_table(results: dict[str, Any], console: Console | None = None) -> None:
    found = rows(results)
    (console or Console()).print(
        styled_table("What the prompt carries", _COLUMNS, found, _caption(results))
    )


def render_markdown(results: dict[str, Any]) -> str:
    lines = [*markdown_table(_COLUMNS, rows(results)), "", _caption(results)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench context", description=__doc__.split("\n\n", 1)[0] if __doc__ else ""
    )
    parser.add_argument(
        "--modules", default=",".join(MODULES), help="comma-separated standard-library modules"
    )
    parser.add_argument("--stubs", type=int, default=10, help="methods stubbed per module")
    parser.add_argument("--budget", type=int, default=None, help="CODEGEN_PROMPT_BUDGET_CHARS")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="stub choice seed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = parser.parse_args(argv)
    modules = [m.strip() for m in args.modules.split(",") if m.strip()]
    results = run(modules, args.stubs, args.budget, args.seed)
    show = None if args.quiet else partial(print_table, results)
    write_results(results, args.output, render_markdown(results), show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
