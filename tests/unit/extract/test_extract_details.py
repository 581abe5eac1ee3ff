"""What each stub carries: names, signatures, decorators, docstrings, context, spans."""

from __future__ import annotations

import textwrap

import pytest

from pipeline.models.stubs import ClassContext, SourceSpan
from pipeline.stages.extract import ExtractError, extract_stubs

from .helpers import extract, names, only_stub

# -- qualified names -----------------------------------------------------------


def test_qualified_names_follow_python_qualname() -> None:
    code = """
        def func(): ...

        class Outer:
            def method(self): ...

            class Inner:
                def method(self): ...

        class Other:
            def method(self): ...

        def outer():
            def inner():
                def innermost(): ...
                return innermost
            class Local:
                def method(self): ...
            return inner, Local
        """
    assert names(code) == [
        "func",
        "Outer.method",
        "Outer.Inner.method",
        "Other.method",
        "outer.<locals>.inner.<locals>.innermost",
        "outer.<locals>.Local.method",
    ]


def test_compound_statements_do_not_change_qualified_names() -> None:
    code = """
        import sys

        if sys.version_info >= (3, 12):
            def f(): ...
        else:
            try:
                def f(): ...
            except ImportError:
                pass

        class C:
            with suppress(Exception):
                def m(self): ...
            match sys.platform:
                case "linux":
                    def n(self): ...
        """
    assert names(code) == ["f", "f", "C.m", "C.n"]


# -- signatures ----------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "def f():",
        "def f(a, b, /, c, d=1, *args, e, f=2, **kwargs):",
        "def f(a: int, /, b: str = 'x', *, c: list[int] | None = None) -> dict[str, int]:",
        "def f(*args: *Ts) -> tuple[*Ts]:",
        "def f(self, x = 1 , *, y : int=2)->  'Result':",
        "def f(x=lambda y: y, z={'a': 1}) -> (lambda: int):",
        "def f(x='#:', y=\"):\") -> '# not a comment':",
        "def f(\n    a: int,  # the first: one\n    b: str = 'x',\n"
        "    *args,\n    **kwargs,\n)  -> None  :",
        "def f(a,\n      b) \\\n        -> int:",
        "def f(x=(\n    '''multi\nline'''\n)):",
        'def f(x="""a:\n#"""):',  # its last line looks like a comment, but is in a string
        "async def f(x: int) -> None:",
        "async  def f():",
        "def функция(параметр: str = 'значение') -> str:",
    ],
)
def test_signature_is_the_header_exactly_as_written(signature: str) -> None:
    for body in ("...", "\n    ...", "  # a comment: with colon\n    # another\n    ..."):
        stub = only_stub(f"{signature}{body}\n")
        assert stub.signature == signature


def test_signature_of_a_method_keeps_continuation_indentation() -> None:
    code = """
        class C:
            @decorator
            async def fetch(
                self,
                url: str,  # where
            ) -> bytes:
                ...
        """
    stub = only_stub(code)
    assert (
        stub.signature
        == "async def fetch(\n        self,\n        url: str,  # where\n    ) -> bytes:"
    )
    assert stub.is_async
    assert stub.name == "fetch"


def test_is_async_is_false_for_plain_functions() -> None:
    assert not only_stub("def f(): ...").is_async


# -- decorators and docstrings -------------------------------------------------


def test_decorators_are_their_source_text_without_the_at() -> None:
    code = """
        class C:
            @property
            @functools.lru_cache(maxsize=None)
            @  spaced
            @register(
                "name",  # why
                kind=Kind.X,
            )
            def f(self): ...
        """
    assert only_stub(code).decorators == [
        "property",
        "functools.lru_cache(maxsize=None)",
        "spaced",
        'register(\n        "name",  # why\n        kind=Kind.X,\n    )',
    ]


@pytest.mark.parametrize(
    ("body", "docstring"),
    [
        ('"""One line."""', "One line."),
        (
            '"""Summary.\n\n    Args:\n        x: the x.\n    """',
            "Summary.\n\nArgs:\n    x: the x.",
        ),
        ("'single' \"implicitly\" 'concatenated'", "singleimplicitlyconcatenated"),
        (r'r"""Raw \d escape."""', r"Raw \d escape."),
        ('"""Escaped \\u00e9."""', "Escaped \u00e9."),
    ],
)
def test_docstring_is_the_cleaned_string_value(body: str, docstring: str) -> None:
    stub = only_stub(f"def f():\n    {body}\n    ...\n")
    assert stub.docstring == docstring


@pytest.mark.parametrize("body", ['f"""An f-string {x}."""', 'b"""Bytes."""', "x = 1"])
def test_no_docstring(body: str) -> None:
    assert only_stub(f"def f():\n    {body}\n    # IMPLEMENTATION REQUIRED\n").docstring is None


# -- class context -------------------------------------------------------------


def test_class_context() -> None:
    code = """
        class Repo(Base, Generic[T], metaclass=ABCMeta, **options):
            '''A repository.

            Stores things.
            '''

            def __init__(self, path: str) -> None:
                self.path = path

            def get(self, key: str) -> T:
                raise NotImplementedError

            @property
            def size(
                self,
            ) -> int:
                return 0

            if DEBUG:
                async def dump(self): ...

            def _helper(self):
                def nested(): ...

            class Nested:
                def ignored(self): ...
        """
    stubs = {stub.qualified_name: stub for stub in extract(code).stubs}
    assert list(stubs) == [
        "Repo.get",
        "Repo.dump",
        "Repo._helper.<locals>.nested",
        "Repo.Nested.ignored",
    ]
    assert stubs["Repo.get"].class_context == ClassContext(
        name="Repo",
        qualified_name="Repo",
        bases=["Base", "Generic[T]", "metaclass=ABCMeta", "**options"],
        docstring="A repository.\n\nStores things.",
        sibling_signatures=[
            "def __init__(self, path: str) -> None:",
            "def size(\n        self,\n    ) -> int:",
            "async def dump(self):",
            "def _helper(self):",
        ],
    )
    get_siblings = stubs["Repo.dump"].class_context.sibling_signatures  # type: ignore[union-attr]
    assert "def get(self, key: str) -> T:" in get_siblings
    assert "async def dump(self):" not in get_siblings
    assert stubs["Repo._helper.<locals>.nested"].class_context is None
    nested = stubs["Repo.Nested.ignored"].class_context
    assert nested is not None
    assert (nested.name, nested.qualified_name, nested.bases) == ("Nested", "Repo.Nested", [])
    assert nested.docstring is None
    assert nested.sibling_signatures == []


def test_same_named_methods_of_two_classes_get_their_own_context() -> None:
    code = """
        class A:
            def run(self): ...
            def a_only(self): pass

        class B(A):
            def run(self): ...
        """
    first, second = extract(code).stubs
    assert (first.qualified_name, second.qualified_name) == ("A.run", "B.run")
    assert first.class_context is not None and second.class_context is not None
    assert first.class_context.sibling_signatures == ["def a_only(self):"]
    assert second.class_context.bases == ["A"]
    assert second.class_context.sibling_signatures == []


def test_module_level_functions_have_no_class_context() -> None:
    assert only_stub("def f(): ...").class_context is None


def test_overloads_are_siblings() -> None:
    code = """
        class C:
            @overload
            def get(self, x: int) -> int: ...
            @overload
            def get(self, x: str) -> str: ...
            def get(self, x):
                raise NotImplementedError
        """
    stub = only_stub(code)
    assert stub.class_context is not None
    assert stub.class_context.sibling_signatures == [
        "def get(self, x: int) -> int:",
        "def get(self, x: str) -> str:",
    ]


# -- imports -------------------------------------------------------------------


def test_imports_are_the_module_level_import_statements_as_written() -> None:
    code = """
        from __future__ import annotations

        import os, sys
        import collections.abc as cabc
        from typing import (
            TYPE_CHECKING,  # for hints
            Any,
        )
        from . import sibling
        from ..pkg.mod import thing as other

        if TYPE_CHECKING:
            from pathlib import Path
        try:
            import ujson as json
        except ImportError:
            import json

        def f():
            import inside_a_function

        class C:
            import inside_a_class
        """
    assert extract(code).imports == [
        "from __future__ import annotations",
        "import os, sys",
        "import collections.abc as cabc",
        "from typing import (\n    TYPE_CHECKING,  # for hints\n    Any,\n)",
        "from . import sibling",
        "from ..pkg.mod import thing as other",
        "from pathlib import Path",
        "import ujson as json",
        "import json",
    ]


def test_imports_of_a_pyi_file_are_still_reported() -> None:
    result = extract("import os\ndef f() -> None: ...\n", path="m.pyi")
    assert (result.stubs, result.imports) == ([], ["import os"])


# -- spans ---------------------------------------------------------------------


def test_span_runs_from_def_to_the_end_of_the_last_statement() -> None:
    code = """
        class C:
            @decorator
            def f(self):
                '''Doc.'''
                # IMPLEMENTATION REQUIRED
                return 1  # trailing comment

            async def g(self): raise NotImplementedError
        """
    f, g = extract(code).stubs
    # Decorators are not in the span (they are in ``decorators``), as libcst reports it.
    assert f.span == SourceSpan(start_line=4, start_column=4, end_line=7, end_column=16)
    assert g.span == SourceSpan(start_line=9, start_column=4, end_line=9, end_column=48)


def test_span_columns_count_characters() -> None:
    code = "x = 'héllo'; y = 'wörld'\nif x:\n    def f(ä='ö'): raise NotImplementedError('ü')\n"
    span = only_stub(code).span
    line = code.splitlines()[2]
    assert (span.start_line, span.start_column) == (3, line.index("def"))
    assert (span.end_line, span.end_column) == (3, len(line))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    code = newline.join(["import os", "", "def f(", "    a,", "):", "    ...", ""])
    result = extract_stubs(code)
    assert result.imports == ["import os"]
    stub = result.stubs[0]
    assert stub.signature == f"def f({newline}    a,{newline}):"
    assert (stub.span.start_line, stub.span.end_line) == (3, 6)


def test_form_feed_is_not_a_line_break() -> None:
    code = "\x0c\ndef f():\x0c\n    ...\n"
    assert only_stub(code).span.start_line == 2


# -- errors --------------------------------------------------------------------


def test_syntax_error_names_line_column_and_reason() -> None:
    code = textwrap.dedent(
        """
        def ok():
            return 1

        def broken(:
            ...
        """
    )
    with pytest.raises(ExtractError) as caught:
        extract_stubs(code, path="pkg/mod.py")
    error = caught.value
    assert error.code == "SOURCE_SYNTAX_ERROR"
    assert error.message == "cannot parse pkg/mod.py: line 5, column 12: invalid syntax"
    assert error.details == {
        "path": "pkg/mod.py",
        "line": 5,
        "column": 12,
        "reason": "invalid syntax",
    }
    assert str(error).startswith("SOURCE_SYNTAX_ERROR: ")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("def f():\nreturn 1\n", "expected an indented block"),
        ("x = (1,\n", "was never closed"),
        ("x = 1\x00\n", "null bytes"),
        ("x = '\ud800'\n", "surrogates not allowed"),
        ("def f():\n\tif x:\n        pass\n", "inconsistent use of tabs and spaces"),
        ("x = " + "-" * 200_000 + "1\n", "nested too deeply"),
    ],
)
def test_unparsable_source(code: str, reason: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract_stubs(code)
    assert caught.value.code == "SOURCE_SYNTAX_ERROR"
    assert caught.value.message.startswith("cannot parse <source>: ")
    assert reason in caught.value.message


def test_empty_source() -> None:
    result = extract_stubs("")
    assert (result.stubs, result.imports) == ([], [])
