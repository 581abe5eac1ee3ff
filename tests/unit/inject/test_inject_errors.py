"""Clear errors: each with its code and a message a person can act on."""

from __future__ import annotations

from textwrap import dedent

import pytest

from pipeline.errors import StageError
from pipeline.stages.inject import InjectError, InjectOptions, inject_bodies

SOURCE = dedent(
    """\
    class Parser:
        def parse_header(self, text):
            ...

        def parse_body(self, text):
            ...


    def helper():
        ...
    """
)


def _error(
    source: str, bodies: dict[str, str], options: InjectOptions | None = None
) -> InjectError:
    with pytest.raises(InjectError) as caught:
        inject_bodies(source, bodies, options)
    return caught.value


def test_name_not_found_lists_close_matches() -> None:
    error = _error(SOURCE, {"Parser.parse_headers": "return 1"})
    assert isinstance(error, StageError)
    assert error.code == InjectError.NAME_NOT_FOUND == "NAME_NOT_FOUND"
    assert "'Parser.parse_headers'" in error.message
    assert "Parser.parse_header" in error.message
    assert error.details["close_matches"][0] == "Parser.parse_header"


def test_name_not_found_suggests_the_qualified_name_of_a_bare_method_name() -> None:
    error = _error(SOURCE, {"parse_body": "return 1"})
    assert error.code == "NAME_NOT_FOUND"
    assert "Parser.parse_body" in error.message


def test_ambiguous_name() -> None:
    source = dedent(
        """\
        import sys

        if sys.platform == "win32":
            def path_sep():
                ...
        else:
            def path_sep():
                ...
        """
    )
    error = _error(source, {"path_sep": "return '/'"})
    assert error.code == "AMBIGUOUS_NAME"
    assert "'path_sep' is defined 2 times" in error.message


def test_body_syntax_error_has_name_line_and_reason() -> None:
    error = _error(SOURCE, {"helper": "x = 1\ny = )\nreturn x\n"})
    assert error.code == "BODY_SYNTAX_ERROR"
    assert "'helper'" in error.message
    assert "line 2" in error.message
    assert error.details["line"] == 2
    assert error.details["reason"]


def test_body_syntax_error_line_of_indented_code() -> None:
    error = _error(SOURCE, {"helper": "    x = 1\n    y = (\n"})
    assert error.code == "BODY_SYNTAX_ERROR"
    assert error.details["line"] in (2, 3)


def test_body_with_nothing_to_inject() -> None:
    assert _error(SOURCE, {"helper": "# nothing here\n\n"}).code == "BODY_SYNTAX_ERROR"
    hoisting = InjectOptions(hoist_imports="stdlib")
    assert _error(SOURCE, {"helper": "import os\n"}, hoisting).code == "BODY_SYNTAX_ERROR"
    # By default the import stays in the body: a body of its own.
    assert "    import os\n" in inject_bodies(SOURCE, {"helper": "import os\n"}).source


def test_source_syntax_error() -> None:
    error = _error("def f():\n    x = )\n", {"f": "return 1"})
    assert error.code == "SOURCE_SYNTAX_ERROR"
    assert "line 2" in error.message


def test_overlapping_targets() -> None:
    source = "def outer():\n    def inner():\n        ...\n    return inner\n"
    error = _error(source, {"outer": "return 1", "outer.<locals>.inner": "return 2"})
    assert error.code == "OVERLAPPING_TARGETS"


def test_str_has_code_and_message() -> None:
    error = _error(SOURCE, {"nope": "return 1"})
    assert str(error).startswith("NAME_NOT_FOUND: no function 'nope'")


def test_a_lone_surrogate_in_a_body_is_a_body_syntax_error() -> None:
    """Found by fuzzing: libcst raised UnicodeEncodeError."""
    with pytest.raises(InjectError) as caught:
        inject_bodies("def f():\n    ...\n", {"f": "x = '\ud800'\n"})
    assert caught.value.code == InjectError.BODY_SYNTAX_ERROR


def test_a_lone_surrogate_in_the_module_is_a_source_syntax_error() -> None:
    with pytest.raises(InjectError) as caught:
        inject_bodies("def f():\n    ...\n\nx = '\ud800'\n", {"f": "return 1"})
    assert caught.value.code == InjectError.SOURCE_SYNTAX_ERROR
    assert "line 4" in caught.value.message
