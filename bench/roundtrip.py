"""Round trip: stub real modules, fill the stubs with their own bodies, compare byte for byte.

    python -m bench roundtrip [--output bench/results/roundtrip.json] [--show N]

A fixed list of standard-library modules and of modules of the third-party packages the
project installs. In each, every function and method with a real body (not nested in another,
not bodiless by design) is stubbed the way a user stubs one: the signature and the docstring
stay, the statements (and the comments among them) are replaced by one of
``# IMPLEMENTATION REQUIRED`` alone (after a docstring), ``# IMPLEMENTATION REQUIRED`` then
``raise NotImplementedError``, or ``raise NotImplementedError`` alone, in turn. The blank lines
between the docstring and the first statement stay where they were.

The extract stage then finds the stubs of the stubbed module, and the inject stage fills each
with its original text as a model returns it: the statements and comments, dedented (the lines
inside a multi-line string keep their exact text). A module passes when the result is the
original module byte for byte and the extract stage finds none of the filled stubs in it.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import sysconfig
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import parse_quietly, split_lines, stub_candidates
from pipeline.stages.extract import ExtractError, extract_stubs
from pipeline.stages.inject import InjectError, inject_bodies

STDLIB_MODULES = (
    "argparse.py",
    "bisect.py",
    "calendar.py",
    "cProfile.py",
    "configparser.py",
    "csv.py",
    "curses/__init__.py",
    "dataclasses.py",
    "difflib.py",
    "fractions.py",
    "ftplib.py",
    "getopt.py",
    "gzip.py",
    "heapq.py",
    "ipaddress.py",
    "json/decoder.py",
    "json/encoder.py",
    "netrc.py",
    "pprint.py",
    "queue.py",
    "sched.py",
    "shlex.py",
    "string.py",
    "textwrap.py",
    "tokenize.py",
)
THIRD_PARTY_MODULES = (
    "aiokafka/client.py",
    "aiokafka/conn.py",
    "aiokafka/consumer/fetcher.py",
    "aiokafka/producer/producer.py",
    "bandit/core/manager.py",
    "bandit/core/node_visitor.py",
    "bandit/core/tester.py",
    "click/core.py",
    "click/termui.py",
    "click/types.py",
    "click/utils.py",
    "faust/agents/agent.py",
    "faust/app/base.py",
    "faust/streams.py",
    "faust/tables/base.py",
    "httpx/_client.py",
    "httpx/_models.py",
    "httpx/_urls.py",
    "httpx/_config.py",
    "libcst/_nodes/base.py",
    "libcst/_nodes/expression.py",
    "libcst/_nodes/statement.py",
    "libcst/helpers/module.py",
    "libcst/codemod/_codemod.py",
    "libcst/matchers/_visitors.py",
    "mode/services.py",
    "mode/utils/futures.py",
    "mode/supervisors.py",
    "pydantic/main.py",
    "pydantic/fields.py",
    "pydantic/networks.py",
    "pydantic/_internal/_generate_schema.py",
    "pydantic_settings/main.py",
    "rich/console.py",
    "rich/table.py",
    "rich/text.py",
    "rich/progress.py",
    "tenacity/__init__.py",
    "tenacity/retry.py",
    "tenacity/wait.py",
)
MARKER = "# IMPLEMENTATION REQUIRED"
RAISE = "raise NotImplementedError"


@dataclass(frozen=True)
class Case:
    """A module of the corpus: its original text, stubbed text and original bodies."""

    label: str
    original: str
    stubbed: str
    bodies: dict[int, str]
    """The original body of each stub, by the line of its ``def`` in the stubbed text."""


@dataclass(frozen=True)
class Outcome:
    label: str
    stubs: int
    identical: bool
    stubs_left: list[str]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.identical and not self.stubs_left and self.error is None


def corpus_paths() -> list[tuple[str, Path]]:
    """(label, path) of the corpus' modules found in this environment."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    found = [(f"stdlib/{name}", stdlib / name) for name in STDLIB_MODULES]
    found += [(name, site / name) for name in THIRD_PARTY_MODULES]
    return [(label, path) for label, path in found if path.is_file()]


def stub_source(label: str, original: str) -> Case | None:
    """The module with every candidate body stubbed, or None when none qualifies."""
    tree = parse_quietly(original)
    if tree is None:
        return None
    lines = split_lines(original)
    newline = "\r\n" if original.endswith("\r\n") else "\n"
    try:
        already = {stub.qualified_name for stub in extract_stubs(original).stubs}
    except ExtractError:
        return None
    pieces: list[str] = []
    bodies: dict[int, str] = {}
    position = 0
    shift = 0  # lines the stubs so far removed
    for number, candidate in enumerate(
        c for c in stub_candidates(tree, lines, unique=False) if c.name not in already
    ):
        first = _first_body_line(candidate.first, candidate.after_header, lines)
        pieces += lines[position : first - 1]
        indent = candidate.indent
        forms = [f"{indent}{MARKER}{newline}{indent}{RAISE}{newline}", f"{indent}{RAISE}{newline}"]
        if candidate.has_docstring:
            forms.append(f"{indent}{MARKER}{newline}")
        stub = forms[number % len(forms)]
        pieces.append(stub)
        bodies[candidate.def_line - shift] = _dedent(lines[first - 1 : candidate.last], indent)
        shift += candidate.last - first + 1 - stub.count("\n")
        position = candidate.last
    pieces += lines[position:]
    if not bodies:
        return None
    return Case(label, original, "".join(pieces), bodies)


def _first_body_line(first_statement: int, after_header: int, lines: Sequence[str]) -> int:
    """The first comment line before the first statement (or the statement's line)."""
    first = first_statement
    while first - 1 > after_header and _is_comment_or_blank(lines[first - 2]):
        first -= 1
    while first < first_statement and not lines[first - 1].strip():
        first += 1  # blank lines before the first comment stay in the stub
    return first


def _is_comment_or_blank(line: str) -> bool:
    content = line.strip()
    return not content or content.startswith("#")


def _dedent(lines: Sequence[str], indent: str) -> str:
    """The body's lines without ``indent``, except inside multi-line strings."""
    verbatim = _lines_inside_strings("".join(lines))
    dedented = []
    for number, line in enumerate(lines, start=1):
        if number in verbatim:
            dedented.append(line)
        elif line.startswith(indent):
            dedented.append(line[len(indent) :])
        elif not line.strip():
            dedented.append(line.lstrip(" \t"))
        else:
            dedented.append(line)
    return "".join(dedented)


def _lines_inside_strings(code: str) -> set[int]:
    """The lines (1-based) that continue a string token begun on an earlier line."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # an indented body tokenizes as far as it goes
    return inside


def stub_bodies(case: Case) -> dict[str, str]:
    """The original body of each stub extract finds, by qualified name."""
    return {
        stub.qualified_name: case.bodies[stub.span.start_line]
        for stub in extract_stubs(case.stubbed).stubs
        if stub.span.start_line in case.bodies  # not a stub of the original module
    }


def run_case(case: Case) -> Outcome:
    try:
        bodies = stub_bodies(case)
        filled = inject_bodies(case.stubbed, bodies).source
        left = [s.qualified_name for s in extract_stubs(filled).stubs if s.qualified_name in bodies]
    except (ExtractError, InjectError, KeyError) as error:
        return Outcome(case.label, len(case.bodies), False, [], f"{type(error).__name__}: {error}")
    return Outcome(case.label, len(bodies), filled == case.original, left)


def cases() -> Iterator[Case]:
    for label, path in corpus_paths():
        try:
            original = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        case = stub_source(label, original)
        if case is not None:
            yield case


def summary(outcomes: Sequence[Outcome]) -> dict[str, object]:
    def part(selected: list[Outcome]) -> dict[str, object]:
        passed = sum(outcome.passed for outcome in selected)
        return {
            "modules": len(selected),
            "identical": passed,
            "share": round(passed / len(selected), 4) if selected else 0.0,
            "stubs": sum(outcome.stubs for outcome in selected),
        }

    stdlib = [o for o in outcomes if o.label.startswith("stdlib/")]
    others = [o for o in outcomes if not o.label.startswith("stdlib/")]
    return {
        "stdlib": part(stdlib),
        "third_party": part(others),
        "all": part(list(outcomes)),
        "failures": [
            {
                "module": o.label,
                "identical": o.identical,
                "stubs_left": o.stubs_left,
                "error": o.error,
            }
            for o in outcomes
            if not o.passed
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench roundtrip", description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("bench/results/roundtrip.json"))
    args = parser.parse_args(argv)
    outcomes = [run_case(case) for case in cases()]
    result = summary(outcomes)
    for kind in ("stdlib", "third_party", "all"):
        part = result[kind]
        assert isinstance(part, dict)
        print(
            f"{kind:12} {part['identical']}/{part['modules']} modules byte-identical "
            f"({part['stubs']} stubs)"
        )
    failures = result["failures"]
    assert isinstance(failures, list)
    for failure in failures:
        print(f"  not identical: {failure['module']} {failure['error'] or ''}".rstrip())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
