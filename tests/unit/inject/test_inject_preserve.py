"""Before/after: what inject replaces, and that all else stays byte for byte."""

from __future__ import annotations

from textwrap import dedent

from pipeline.stages.inject import InjectOptions, inject_bodies


def _inject(before: str, bodies: dict[str, str]) -> str:
    return inject_bodies(dedent(before), {k: dedent(v) for k, v in bodies.items()}).source


def test_stub_statements_and_stub_comments_are_replaced() -> None:
    before = """\
        def area(r):
            # IMPLEMENTATION REQUIRED
            raise NotImplementedError
    """
    after = """\
        def area(r):
            return 3.14159 * r * r
    """
    assert _inject(before, {"area": "return 3.14159 * r * r\n"}) == dedent(after)


def test_multiline_signature_decorators_and_def_line_comment_are_kept() -> None:
    before = """\
        import functools


        @functools.cache
        @staticmethod  # odd, but kept
        def total(
            a: int,  # first
            b: int = 2,
        ) -> int:  # the def line
            pass  # Stub
    """
    after = """\
        import functools


        @functools.cache
        @staticmethod  # odd, but kept
        def total(
            a: int,  # first
            b: int = 2,
        ) -> int:  # the def line
            return a + b
    """
    assert _inject(before, {"total": "return a + b"}) == dedent(after)


def test_docstring_blank_line_and_comments_after_the_body_are_kept() -> None:
    before = '''\
        class Greeter:
            def greet(self, name: str) -> str:
                """Say hello.

                Twice, if need be.
                """

                # TODO: write me
                ...
                # end of greet


            def other(self) -> None:
                pass
    '''
    after = '''\
        class Greeter:
            def greet(self, name: str) -> str:
                """Say hello.

                Twice, if need be.
                """

                # Build the greeting.
                greeting = f"Hello, {name}!"
                return greeting
                # end of greet


            def other(self) -> None:
                pass
    '''
    body = """\
        # Build the greeting.
        greeting = f"Hello, {name}!"
        return greeting
    """
    assert _inject(before, {"Greeter.greet": body}) == dedent(after)


def test_nested_blocks_keep_their_structure_and_take_the_module_indentation() -> None:
    before = """\
        class Walker:
          def walk(self, items):
            raise NotImplementedError
    """
    body = """\
        for item in items:
            if item:
                try:
                    yield item
                except ValueError:
                    continue
            else:
                break
    """
    after = """\
        class Walker:
          def walk(self, items):
            for item in items:
              if item:
                try:
                  yield item
                except ValueError:
                  continue
              else:
                break
    """
    assert _inject(before, {"Walker.walk": body}) == dedent(after)


def test_multiline_strings_in_the_body_keep_their_text() -> None:
    before = """\
        class Report:
            def render(self):
                ...
    """
    body = '''\
            text = """
        Title
          indented
        """
            return text
    '''
    after = '''\
        class Report:
            def render(self):
                text = """
        Title
          indented
        """
                return text
    '''
    assert _inject(before, {"Report.render": body}) == dedent(after)


def test_tabs() -> None:
    before = "class A:\n\tdef f(self):\n\t\tpass\n\n\tdef g(self):\n\t\treturn 1\n"
    body = "if self:\n    return 1\nreturn 2\n"
    after = (
        "class A:\n\tdef f(self):\n\t\tif self:\n\t\t\treturn 1\n\t\treturn 2\n\n"
        "\tdef g(self):\n\t\treturn 1\n"
    )
    assert inject_bodies(before, {"A.f": body}).source == after


def test_crlf() -> None:
    before = 'class A:\r\n    def f(self):\r\n        """Doc."""\r\n        ...\r\n\r\nx = 1\r\n'
    body = "import os\n\nif self:\n    return os.sep\nreturn ''\n"
    after = (
        'import os\r\n\r\n\r\nclass A:\r\n    def f(self):\r\n        """Doc."""\r\n'
        "        if self:\r\n            return os.sep\r\n        return ''\r\n\r\nx = 1\r\n"
    )
    result = inject_bodies(before, {"A.f": body}, InjectOptions(hoist_imports="stdlib"))
    assert result.source == after
    assert result.added_imports == ["import os"]


def test_one_line_def_becomes_a_block() -> None:
    before = """\
        class A:
            def f(self) -> int: ...  # stub
            def g(self): return 2
    """
    after = """\
        class A:
            def f(self) -> int:  # stub
                value = 1
                return value
            def g(self): return 2
    """
    assert _inject(before, {"A.f": "value = 1\nreturn value\n"}) == dedent(after)


def test_whole_def_keeps_the_original_signature_decorators_and_docstring() -> None:
    before = '''\
        class Cache:
            @property
            def size(self) -> int:
                """How many entries."""
                raise NotImplementedError
    '''
    generated = '''\
            @property
            def size(self) -> int:
                """Number of entries (generated)."""
                return len(self._entries)
    '''
    after = '''\
        class Cache:
            @property
            def size(self) -> int:
                """How many entries."""
                return len(self._entries)
    '''
    assert _inject(before, {"Cache.size": generated}) == dedent(after)


def test_whole_async_def_with_imports() -> None:
    before = """\
        \"\"\"Client.\"\"\"

        import asyncio


        async def fetch(url):
            raise NotImplementedError
    """
    generated = """\
        import json
        from typing import Any

        async def fetch(url) -> Any:
            await asyncio.sleep(0)
            return json.loads(url)
    """
    after = """\
        \"\"\"Client.\"\"\"

        import asyncio
        import json
        from typing import Any


        async def fetch(url):
            await asyncio.sleep(0)
            return json.loads(url)
    """
    hoist = InjectOptions(hoist_imports="stdlib")
    result = inject_bodies(dedent(before), {"fetch": dedent(generated)}, hoist)
    assert result.source == dedent(after)
    assert result.added_imports == ["import json", "from typing import Any"]


def test_repeated_docstring_in_a_bare_body_is_dropped() -> None:
    before = '''\
        def f():
            """Return one."""
            ...
    '''
    after = '''\
        def f():
            """Return one."""
            return 1
    '''
    assert _inject(before, {"f": '"""Return one."""\nreturn 1\n'}) == dedent(after)


def test_same_method_name_in_two_classes() -> None:
    before = """\
        class A:
            def run(self):
                ...


        class B:
            def run(self):
                ...
    """
    after = """\
        class A:
            def run(self):
                return "a"


        class B:
            def run(self):
                return "b"
    """
    bodies = {"B.run": 'return "b"', "A.run": 'return "a"'}
    result = inject_bodies(dedent(before), bodies)
    assert result.source == dedent(after)
    assert result.filled == ["B.run", "A.run"]


def test_nested_classes_and_nested_functions() -> None:
    before = """\
        class Outer:
            class Inner:
                def method(self):
                    ...


        def outer():
            def inner():
                ...

            return inner
    """
    after = """\
        class Outer:
            class Inner:
                def method(self):
                    return "inner method"


        def outer():
            def inner():
                return "nested"

            return inner
    """
    bodies = {
        "Outer.Inner.method": 'return "inner method"',
        "outer.<locals>.inner": 'return "nested"',
    }
    assert _inject(before, bodies) == dedent(after)


def test_overloads_are_skipped_for_the_implementation() -> None:
    before = """\
        from typing import overload


        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str: ...
        def f(x):
            raise NotImplementedError
    """
    after = """\
        from typing import overload


        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str: ...
        def f(x):
            return x
    """
    assert _inject(before, {"f": "return x"}) == dedent(after)


def test_module_without_trailing_newline() -> None:
    assert inject_bodies("def f():\n    ...", {"f": "return 1"}).source == "def f():\n    return 1"


def test_no_bodies_gives_the_source_back() -> None:
    source = "def f():  \n    ...\n"
    result = inject_bodies(source, {})
    assert result.source == source
    assert result.filled == []
