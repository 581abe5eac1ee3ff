"""The splice path (ast to find, libcst on each function's text) against the whole-module path.

Both must give the same result, or the same error, wherever the splice path applies; it keeps
what lies outside the filled functions byte for byte even where libcst would not.
"""

from __future__ import annotations

import ast
import random
import sysconfig
from pathlib import Path
from textwrap import dedent

import pytest

from bench.synthetic import synthetic_module
from pipeline.stages.inject import (
    InjectError,
    InjectOptions,
    inject_bodies,
    inject_whole_module,
    splice,
)
from pipeline.stages.inject.as_written import WrittenBody, as_written
from pipeline.stages.inject.body import parse_body
from pipeline.stages.inject.locate import AstDefIndex
from pipeline.stages.inject.splice import inject_spliced

STDLIB = Path(sysconfig.get_paths()["stdlib"])

BODIES = (
    "return 1\n",
    "import os\nimport json as _json\nfrom collections import OrderedDict\n\nreturn os.sep\n",
    "from __future__ import annotations\nimport re, sys\n# why\nif sys:\n    return re\n# end\n",
    "    x = 1  # one\n    for i in range(3):\n      x += i\n    return x\n",
    "def {name}(self, *args):\n    '''Doc.'''\n    import string\n    return string.digits\n",
    "if not self:\n    raise Error(\n        'empty'\n    ) from \\\n        None\nreturn 1\n",
    # At a function's own indentation: written as it is, where libcst would write it so.
    "\n    # lead\n    total = 0\n    \n\n    for item in (\n  1, 2):\n"
    "        # inside\n      # odd\n        total += item\n    text = '''a\n  b'''\n"
    "    return total \\\n        + 1\n    # after\n\n",
    "    if self:\n        return 1\n    # after\n  # less indented\n",
)


# Imports stay in the bodies, or standard-library ones move to the module: both paths agree.
OPTIONS = (InjectOptions(), InjectOptions(hoist_imports="stdlib", error_class="errs:Error"))


def _outcome(
    function: object, source: str, bodies: dict[str, str], options: InjectOptions
) -> object:
    assert callable(function)
    try:
        result = function(source, bodies, options)
    except InjectError as error:
        return (error.code, error.message)
    return None if result is None else result.model_dump()


def _same(source: str, bodies: dict[str, str]) -> None:
    for options in OPTIONS:
        spliced = _outcome(inject_spliced, source, bodies, options)
        assert spliced is not None, "the splice path gave up"
        assert spliced == _outcome(inject_whole_module, source, bodies, options)


MODULES = {
    "starts_with_a_def": """\
        # A header comment.

        def f():
            ...
        """,
    "docstring_only": '''\
        """Doc."""
        def f():
            ...
        ''',
    "docstring_and_future": '''\
        """Doc."""

        from __future__ import annotations
        # about f
        def f():
            ...
        ''',
    "imports_then_statement": """\
        import os
        X = 1
        def f():
            ...
        """,
    "imports_then_comment": """\
        import os

        # constants
        X = 1


        def f():
            ...
        """,
    "semicolons": """\
        import os; import sys
        import re; X = 1
        def f():
            ...
        """,
    "nested_deep": """\
        def outer():
            class Inner:
                def f(self):
                    pass

                # about g
                def g(self): ...  # stub
            # back in outer
            return Inner
        """,
    "two_space_class_in_four_space_module": """\
        def top():
            return 0


        class A:
          def f(self): ...
          def g(self):
            if self:
              return 1
            # footer of g
        # after A
        """,
    "decorated_and_overloaded": """\
        from typing import overload
        import functools


        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str: ...
        @functools.cache
        # between
        def f(x):
            raise NotImplementedError
        """,
    "in_branches": """\
        import sys

        if sys.platform == "win32":
            def only_here():
                ...
        else:
            X = 2
        try:
            import fast
        except ImportError:
            def fallback():
                ...
        """,
    "shadowing_names": """\
        from json import loads as parse
        for os in ():
            pass


        def f(text):
            ...
        """,
}


@pytest.mark.parametrize("label", sorted(MODULES))
@pytest.mark.parametrize("template", range(len(BODIES)))
def test_small_modules(label: str, template: int) -> None:
    source = dedent(MODULES[label])
    for variant in (source, source.replace("\n", "\r\n")):
        names = list(AstDefIndex(ast.parse(variant)).defs)
        for name in names:
            _same(variant, {name: BODIES[template].replace("{name}", name.rsplit(".", 1)[-1])})


def test_errors_are_the_same() -> None:
    source = dedent(MODULES["in_branches"])
    _same(source, {"only_heer": "return 1"})
    _same(source, {"only_here": "return )"})
    _same(source, {"only_here": "import os\n"})
    _same("def f():\n    def g():\n        ...\n", {"f": "return 1", "f.<locals>.g": "return 2"})
    _same("def f(): ...\ndef f(): ...\n", {"f": "return 1"})


def test_text_outside_the_functions_is_kept_where_libcst_would_change_it() -> None:
    source = "try:\n    pass\nexcept (ValueError) :\n    pass\n\n\ndef f():\n    ...\n"
    result = inject_bodies(source, {"f": "return 1"})
    assert result.source == source.replace("...", "return 1")


def test_what_the_splice_path_does_not_handle_goes_the_whole_module_way() -> None:
    form_feed = "\fdef f():\n    ...\n"
    assert inject_spliced(form_feed, {"f": "return 1"}) is None
    expected = inject_whole_module(form_feed, {"f": "return 1"})
    assert inject_bodies(form_feed, {"f": "return 1"}) == expected
    # A docstring on the def line: libcst moves it into a new block, the splice does not.
    one_line = 'def f(): """Doc."""\n'
    assert inject_spliced(one_line, {"f": "return 1"}) is None
    assert inject_bodies(one_line, {"f": "return 1"}) == inject_whole_module(
        one_line, {"f": "return 1"}
    )
    # libcst would not give this function back as written; the splice does not render it.
    odd = "def f():\n    try:\n        pass\n    except (ValueError) :\n        pass\n"
    assert inject_bodies(odd, {"f": "return 1"}).source == "def f():\n    return 1\n"
    odd_kept = "def f():\n    ...\n" + odd.replace("def f():", "if 1:")
    spliced = inject_spliced(odd_kept, {"f": "return 1"})
    assert spliced is not None
    assert spliced.source == odd_kept.replace("...", "return 1")
    with pytest.raises(InjectError) as caught:
        inject_bodies("def f(:\n    ...\n", {"f": "return 1"})
    assert caught.value.code == InjectError.SOURCE_SYNTAX_ERROR


def _stdlib_sample() -> list[Path]:
    paths = sorted(
        p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts and "test" not in p.parts
    )
    return paths[:: max(1, len(paths) // 25)]


def _sample_cases(path: Path) -> list[tuple[str, dict[str, str], InjectOptions]]:
    """The bodies to fill in a stdlib module (four functions per template), or none."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (UnicodeDecodeError, SyntaxError):
        return []
    if "\f" in source or source.count("\n") > 2500:
        return []  # a form feed or too long
    names = list(AstDefIndex(tree).defs)
    rng = random.Random(path.name)
    found = []
    for template in BODIES:
        chosen = rng.sample(names, min(len(names), 4))
        bodies = {name: template.replace("{name}", name.rsplit(".", 1)[-1]) for name in chosen}
        found += [(source, bodies, options) for options in OPTIONS]
    return found


@pytest.mark.parametrize("path", _stdlib_sample(), ids=lambda p: p.name)
def test_stdlib_sample(path: Path) -> None:
    cases = _sample_cases(path)
    if not cases:
        pytest.skip("not a module this Python reads, a form feed, or too long")
    for source, bodies, options in cases:
        expected = _outcome(inject_whole_module, source, bodies, options)
        spliced = _outcome(inject_spliced, source, bodies, options)
        if spliced is None:  # the whole-module path then answers: check that it does
            spliced = _outcome(inject_bodies, source, bodies, options)
        assert spliced == expected


SPLICED_FLOOR = 0.95
"""The share of the stdlib sample's cases the splice must handle itself (all of them today)."""


def test_the_splice_handles_nearly_all_of_the_stdlib_sample() -> None:
    cases = [case for path in _stdlib_sample() for case in _sample_cases(path)]
    assert len(cases) >= 200
    spliced = sum(_outcome(inject_spliced, *case) is not None for case in cases)
    assert spliced / len(cases) >= SPLICED_FLOOR, f"{spliced} of {len(cases)} spliced"


def test_a_body_at_the_functions_indentation_is_spliced_as_written() -> None:
    # libcst would write it as it is: the splice takes its text, libcst neither parses it
    # nor writes it.
    code = "        total = 0\n        for item in items:\n            total += item\n"
    shape = {"indent": "        ", "keeps_docstring": False, "names": {"f"}, "hoist": "none"}
    written = as_written(code, "\n", unit="    ", **shape)  # type: ignore[arg-type]
    assert written == WrittenBody(code, 3)
    source = "class A:\n    def f(self, items):\n        ...\n"
    assert inject_bodies(source, {"A.f": code}).source == source.replace("        ...\n", code)
    # Not so: another block unit, a comment that falls out of the block, a moved import.
    assert as_written(code, "\n", unit="  ", **shape) is None  # type: ignore[arg-type]
    less = code + "  # less\n"
    assert as_written(less, "\n", unit="    ", **shape) is None  # type: ignore[arg-type]
    future = "        from __future__ import annotations\n" + code
    assert as_written(future, "\n", unit="    ", **shape) is None  # type: ignore[arg-type]


def test_bodies_at_their_functions_indentation_are_not_parsed_by_libcst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What keeps inject within two libcst parses of a big module (``python -m bench stages``).
    module = synthetic_module(40)
    parsed: list[str] = []

    def counting_parse_body(code: str, *, qualified_name: str, newline: str) -> object:
        parsed.append(qualified_name)
        return parse_body(code, qualified_name=qualified_name, newline=newline)

    monkeypatch.setattr(splice, "parse_body", counting_parse_body)
    result = inject_spliced(module.source, module.bodies)
    assert result is not None
    assert parsed == []
    assert result == inject_whole_module(module.source, module.bodies)


def test_code_at_column_0_goes_in_indented_as_libcst_indents_it() -> None:
    code = 'x = call(\n    1,\n)\ntext = """a\n  b"""\nif x:\n    # why\n    return text\n'
    shape = {"indent": "        ", "keeps_docstring": False, "names": {"f"}, "hoist": "none"}
    written = as_written(code, "\n", unit="    ", **shape)  # type: ignore[arg-type]
    expected = "".join(
        line if line.startswith("  b") else "        " + line
        for line in code.splitlines(keepends=True)
    )
    assert written == WrittenBody(expected, 8)
    source = "class A:\n    def f(self, x):\n        ...\n"
    assert inject_spliced(source, {"A.f": code}) == inject_whole_module(source, {"A.f": code})
    # libcst keeps a line inside brackets indented less than its block as it is: not here.
    odd = "if x:\n    y = f(\n  1)\n"
    assert as_written(odd, "\n", unit="    ", **shape) is None  # type: ignore[arg-type]
