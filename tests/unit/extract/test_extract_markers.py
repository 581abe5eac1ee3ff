"""Which bodies are stubs, marker by marker."""

from __future__ import annotations

import pytest

from pipeline.settings import DEFAULT_STUB_MARKERS
from pipeline.stages.extract import ExtractError, ExtractOptions, extract_stubs

from .helpers import extract, names, only_stub


@pytest.mark.parametrize(
    ("code", "marker"),
    [
        pytest.param(
            """
            def f():
                # IMPLEMENTATION REQUIRED
                return compute()
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-own-line",
        ),
        pytest.param(
            """
            def f():  # IMPLEMENTATION REQUIRED
                return 1
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-after-colon",
        ),
        pytest.param(
            """
            def f():
                '''Docstring.'''
                return compute()  # IMPLEMENTATION REQUIRED: the real thing
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-trailing-a-statement",
        ),
        pytest.param(
            """
            def f():
                '''Only a docstring, and the marker comment after it.'''
                # IMPLEMENTATION REQUIRED
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-after-docstring-only-body",
        ),
        pytest.param(
            """
            def f(x):
                if x:
                    return 1  # IMPLEMENTATION REQUIRED
                return 2
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-inside-compound-statement",
        ),
        pytest.param(
            """
            def f(x):
                return [
                    x,  # IMPLEMENTATION REQUIRED
                ]
            """,
            "comment:IMPLEMENTATION REQUIRED",
            id="comment-inside-expression",
        ),
        pytest.param(
            """
            def f():
                raise NotImplementedError
            """,
            "raise:NotImplementedError",
            id="raise-name",
        ),
        pytest.param(
            """
            def f():
                raise NotImplementedError()
            """,
            "raise:NotImplementedError",
            id="raise-call",
        ),
        pytest.param(
            """
            def f():
                '''Docstring first.'''
                # a comment
                raise NotImplementedError("not yet")  # trailing
            """,
            "raise:NotImplementedError",
            id="raise-message-after-docstring",
        ),
        pytest.param(
            """
            def f(): raise NotImplementedError
            """,
            "raise:NotImplementedError",
            id="raise-one-line",
        ),
        pytest.param(
            """
            def f():
                ...
            """,
            "ellipsis",
            id="ellipsis",
        ),
        pytest.param(
            """
            def f():
                '''Docstring.'''
                ...
            """,
            "ellipsis",
            id="ellipsis-after-docstring",
        ),
        pytest.param(
            """
            def f(): ...
            """,
            "ellipsis",
            id="ellipsis-one-line",
        ),
        pytest.param(
            """
            def f():
                pass  # Stub
            """,
            "pass-comment:Stub",
            id="pass-comment",
        ),
        pytest.param(
            """
            def f():
                '''Docstring.'''
                pass  # Stub: fill me
            """,
            "pass-comment:Stub",
            id="pass-comment-after-docstring",
        ),
        pytest.param(
            """
            def f(): pass;  # Stub
            """,
            "pass-comment:Stub",
            id="pass-comment-one-line-semicolon",
        ),
    ],
)
def test_marker_matches(code: str, marker: str) -> None:
    stub = only_stub(code)
    assert stub.qualified_name == "f"
    assert stub.marker == marker


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            """
            def f():
                '''Only a docstring: a complete function that returns None.'''
            """,
            id="docstring-only",
        ),
        pytest.param(
            """
            def f():
                pass
            """,
            id="bare-pass",
        ),
        pytest.param(
            """
            def f():
                pass
                # Stub
            """,
            id="pass-comment-on-the-next-line",
        ),
        pytest.param(
            """
            def f():
                pass  # a different comment
            """,
            id="pass-other-comment",
        ),
        pytest.param(
            """
            def f():
                x = 1
                pass  # Stub
            """,
            id="pass-comment-after-code",
        ),
        pytest.param(
            """
            def f():
                raise ValueError("NotImplementedError")
            """,
            id="raise-other-exception",
        ),
        pytest.param(
            """
            def f():
                raise NotImplementedError from None
            """,
            id="raise-with-cause",
        ),
        pytest.param(
            """
            def f():
                log("about to fail")
                raise NotImplementedError
            """,
            id="raise-after-code",
        ),
        pytest.param(
            """
            def f():
                ...
                return 1
            """,
            id="ellipsis-then-code",
        ),
        pytest.param(
            """
            def f():
                return ...
            """,
            id="returns-ellipsis",
        ),
        pytest.param(
            """
            def f():
                return "# IMPLEMENTATION REQUIRED"
            """,
            id="marker-text-in-a-string",
        ),
        pytest.param(
            """
            def f():
                return '''
                # IMPLEMENTATION REQUIRED
                '''
            """,
            id="marker-text-in-a-multiline-string",
        ),
        pytest.param(
            """
            def f():
                x = 1; y = "# IMPLEMENTATION REQUIRED"
                return x, y
            """,
            id="marker-text-in-a-string-after-a-semicolon",
        ),
        pytest.param(
            """
            # IMPLEMENTATION REQUIRED
            def f(
                a,  # IMPLEMENTATION REQUIRED
            ):
                return a
            """,
            id="marker-comment-above-or-in-signature",
        ),
        pytest.param(
            """
            def f():
                return 1
            # IMPLEMENTATION REQUIRED
            """,
            id="marker-comment-after-the-function-dedented",
        ),
    ],
)
def test_not_a_stub(code: str) -> None:
    assert names(code) == []


def test_trailing_comment_lines_indented_like_the_body_belong_to_it() -> None:
    # As libcst's IndentedBlock footer: through the last comment line at the body's depth.
    code = """
        class A:
            def f(self):
                return 1
            # a class-level comment
                # IMPLEMENTATION REQUIRED

            def g(self):
                return 2
        """
    assert names(code) == ["A.f"]


def test_comments_of_nested_functions_are_not_the_outer_functions() -> None:
    code = """
        def outer():
            def inner():
                x = 1
                # IMPLEMENTATION REQUIRED
            class Local:
                # IMPLEMENTATION REQUIRED
                y = 2
            return inner
        """
    assert names(code) == ["outer.<locals>.inner"]


def test_a_comment_above_a_nested_function_is_the_outer_functions() -> None:
    code = """
        def outer():
            x = 1
            # IMPLEMENTATION REQUIRED
            def inner():
                return x
            return inner
        """
    assert names(code) == ["outer"]


def test_a_stub_inside_a_stub_is_covered_by_the_outer_one() -> None:
    code = """
        def outer():
            # IMPLEMENTATION REQUIRED
            def helper():
                ...
            return helper
        """
    assert names(code) == ["outer"]


def test_the_first_matching_marker_is_recorded() -> None:
    code = """
        def f():
            # IMPLEMENTATION REQUIRED
            raise NotImplementedError
        """
    assert only_stub(code).marker == "comment:IMPLEMENTATION REQUIRED"
    reordered = ["raise:NotImplementedError", "comment:IMPLEMENTATION REQUIRED"]
    assert only_stub(code, markers=reordered).marker == "raise:NotImplementedError"


def test_only_the_configured_markers_apply() -> None:
    code = """
        def a(): ...
        def b(): raise NotImplementedError
        """
    assert names(code, markers=["ellipsis"]) == ["a"]
    assert names(code, markers=["raise:NotImplementedError"]) == ["b"]


def test_raise_marker_with_a_dotted_name() -> None:
    code = """
        def a(): raise errors.Todo("later")
        def b(): raise Todo
        """
    assert names(code, markers=["raise:errors.Todo"]) == ["a"]
    assert names(code, markers=["raise:Todo"]) == ["b"]


def test_comment_marker_text_is_case_sensitive_and_matches_anywhere_in_the_comment() -> None:
    code = """
        def a():
            return 1  # TODO: IMPLEMENTATION REQUIRED (see #12)
        def b():
            return 1  # implementation required
        """
    assert names(code) == ["a"]


def test_default_markers_are_the_settings_defaults() -> None:
    assert ExtractOptions().markers == list(DEFAULT_STUB_MARKERS)
    result = extract_stubs("def f():\n    pass  # Stub\n")
    assert [stub.marker for stub in result.stubs] == ["pass-comment:Stub"]


@pytest.mark.parametrize(
    "marker",
    ["todo", "comment:", "comment:   ", "raise:", "raise:not a name", "raise:1x", "ellipsis:x", ""],
)
def test_invalid_marker(marker: str) -> None:
    with pytest.raises(ExtractError) as caught:
        extract("def f(): ...\n", markers=["ellipsis", marker])
    assert caught.value.code == "INVALID_MARKER"
    assert repr(marker) in caught.value.message
    assert "comment:TEXT" in caught.value.message
