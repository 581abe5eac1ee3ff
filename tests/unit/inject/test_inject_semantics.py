"""Inject keeps what the code means: local imports stay local, the stub's marker goes, the
blank lines stay, a property's getter and setter are both filled. Before/after pairs."""

from __future__ import annotations

import ast
from textwrap import dedent

import pytest

from pipeline.stages.extract import extract_stubs
from pipeline.stages.inject import InjectError, InjectOptions, inject_bodies, inject_whole_module


def _both_paths(before: str, bodies: dict[str, str], options: InjectOptions | None = None) -> str:
    """The injected module; the splice and the whole-module paths must agree on it."""
    source = dedent(before)
    result = inject_bodies(source, bodies, options).source
    assert inject_whole_module(source, bodies, options).source == result
    return result


def test_imports_at_the_top_of_a_body_stay_there() -> None:
    before = '''\
        import io


        class Profile:
            def print_stats(self, sort=-1):
                """Print the statistics."""
                raise NotImplementedError
    '''
    after = '''\
        import io


        class Profile:
            def print_stats(self, sort=-1):
                """Print the statistics."""
                import pstats
                import io
                pstats.Stats(self).strip_dirs().sort_stats(sort).print_stats()
    '''
    body = (
        "import pstats\nimport io\npstats.Stats(self).strip_dirs().sort_stats(sort).print_stats()\n"
    )
    assert _both_paths(before, {"Profile.print_stats": body}) == dedent(after)


def test_hoisting_the_standard_library_leaves_other_imports_in_the_body() -> None:
    before = """\
        import os


        def f():
            ...
    """
    after = """\
        import os
        import json


        def f():
            from click import termui
            return termui, json.dumps(os.sep)
    """
    body = "import json\nfrom click import termui\nreturn termui, json.dumps(os.sep)\n"
    hoist = InjectOptions(hoist_imports="stdlib")
    assert _both_paths(before, {"f": body}, hoist) == dedent(after)


def test_future_imports_still_go_to_the_module() -> None:
    before = """\
        def f():
            ...
    """
    after = """\
        from __future__ import annotations


        def f():
            return 1
    """
    body = "from __future__ import annotations\nreturn 1\n"
    assert _both_paths(before, {"f": body}) == dedent(after)


def test_a_docstring_and_marker_stub_loses_the_marker_and_keeps_the_blank_line() -> None:
    before = '''\
        def insort(a, x):
            """Insert x in a, keeping it sorted."""

            # IMPLEMENTATION REQUIRED

        # A comment about what follows.

        def after():
            pass
    '''
    after = '''\
        def insort(a, x):
            """Insert x in a, keeping it sorted."""

            lo = bisect(a, x)
            a.insert(lo, x)

        # A comment about what follows.

        def after():
            pass
    '''
    result = _both_paths(before, {"insort": "lo = bisect(a, x)\na.insert(lo, x)\n"})
    assert result == dedent(after)
    assert extract_stubs(result).stubs == []


def test_a_trailing_comment_block_after_a_blank_line_is_kept() -> None:
    before = '''\
        class A:
            def f(self):
                """Doc."""
                # IMPLEMENTATION REQUIRED
                # TODO: cache it

                # Kept: about the next method.

            def g(self):
                pass
    '''
    after = '''\
        class A:
            def f(self):
                """Doc."""
                return 1

                # Kept: about the next method.

            def g(self):
                pass
    '''
    assert _both_paths(before, {"A.f": "return 1\n"}) == dedent(after)


def test_a_filled_module_extracts_no_stub() -> None:
    before = '''\
        class A:
            def f(self):
                """Doc."""
                # IMPLEMENTATION REQUIRED
                raise NotImplementedError

            def g(self):
                # IMPLEMENTATION REQUIRED
                pass

            def h(self):
                """Doc."""

                # IMPLEMENTATION REQUIRED
    '''
    source = dedent(before)
    names = [stub.qualified_name for stub in extract_stubs(source).stubs]
    assert names == ["A.f", "A.g", "A.h"]
    filled = inject_bodies(source, dict.fromkeys(names, "return 1\n")).source
    assert extract_stubs(filled).stubs == []
    assert "IMPLEMENTATION REQUIRED" not in filled


def test_a_line_continued_after_a_backslash_moves_with_its_statement() -> None:
    before = """\
        class A:
            def f(self, a, b):
                ...
    """
    after = """\
        class A:
            def f(self, a, b):
                if a and \\
                   b:
                    return a + \\
                        b
                return None
    """
    body = "if a and \\\n   b:\n    return a + \\\n        b\nreturn None\n"
    assert _both_paths(before, {"A.f": body}) == dedent(after)


PROPERTY = '''\
    class Box:
        @property
        def size(self) -> int:
            """The size."""
            raise NotImplementedError

        @size.setter
        def size(self, value: int) -> None:
            raise NotImplementedError

        @size.deleter
        def size(self) -> None:
            raise NotImplementedError
'''


def test_a_property_getter_setter_and_deleter_are_all_stubs_with_their_own_keys() -> None:
    names = [stub.qualified_name for stub in extract_stubs(dedent(PROPERTY)).stubs]
    assert names == ["Box.size", "Box.size.setter", "Box.size.deleter"]


def test_a_property_getter_setter_and_deleter_are_all_filled() -> None:
    after = '''\
        class Box:
            @property
            def size(self) -> int:
                """The size."""
                return self._size

            @size.setter
            def size(self, value: int) -> None:
                self._size = value

            @size.deleter
            def size(self) -> None:
                del self._size
    '''
    bodies = {
        "Box.size": "return self._size\n",
        "Box.size.setter": "def size(self, value: int) -> None:\n    self._size = value\n",
        "Box.size.deleter": "del self._size\n",
    }
    result = _both_paths(PROPERTY, bodies)
    assert result == dedent(after)
    assert extract_stubs(result).stubs == []
    plain_setter = _both_paths(PROPERTY, {**bodies, "Box.size.setter": "self._size = value"})
    assert ast.dump(ast.parse(plain_setter)) == ast.dump(ast.parse(result))


def test_the_plain_name_of_a_property_is_its_getter() -> None:
    result = _both_paths(PROPERTY, {"Box.size": "return 3\n"})
    assert result.count("raise NotImplementedError") == 2
    assert '"""The size."""\n        return 3\n' in result


def test_two_names_of_one_setter_are_refused() -> None:
    source = "class A:\n    x = property()\n\n    @x.setter\n    def x(self, v):\n        ...\n"
    with pytest.raises(InjectError) as raised:
        inject_bodies(source, {"A.x": "pass\n", "A.x.setter": "pass\n"})
    assert raised.value.code == InjectError.OVERLAPPING_TARGETS
    assert inject_bodies(source, {"A.x.setter": "self._x = v\n"}).source.endswith("_x = v\n")
