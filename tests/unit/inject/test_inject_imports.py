"""With ``hoist_imports="stdlib"``, the standard-library imports the generated code starts with
go to the module's imports, once (by default they stay in the body: test_inject_semantics)."""

from __future__ import annotations

from textwrap import dedent

from pipeline.stages.inject import InjectOptions, inject_bodies

HOIST = InjectOptions(hoist_imports="stdlib")


def test_imports_are_added_once_after_the_last_import() -> None:
    before = '''\
        """Tools."""

        from __future__ import annotations

        import os
        from typing import Any


        def a():
            ...


        def b():
            ...
    '''
    after = '''\
        """Tools."""

        from __future__ import annotations

        import os
        from typing import Any
        import re
        from typing import cast


        def a():
            return re.escape(os.sep)


        def b():
            return cast(Any, re.compile("b"))
    '''
    bodies = {
        "a": "import os\nimport re\n\nreturn re.escape(os.sep)\n",
        "b": "import re\nfrom typing import Any, cast\nreturn cast(Any, re.compile('b'))\n".replace(
            "'b'", '"b"'
        ),
    }
    result = inject_bodies(dedent(before), bodies, HOIST)
    assert result.source == dedent(after)
    assert result.added_imports == ["import re", "from typing import cast"]


def test_imports_go_after_the_docstring_when_there_are_none() -> None:
    before = '''\
        """Doc."""


        def f():
            ...
    '''
    after = '''\
        """Doc."""

        import json


        def f():
            return json.dumps(1)
    '''
    result = inject_bodies(dedent(before), {"f": "import json\nreturn json.dumps(1)\n"}, HOIST)
    assert result.source == dedent(after)


def test_future_import_goes_first() -> None:
    before = '''\
        """Doc."""
        import os


        def f():
            ...
    '''
    after = '''\
        """Doc."""

        from __future__ import annotations
        import os


        def f():
            return os.sep
    '''
    result = inject_bodies(
        dedent(before), {"f": "from __future__ import annotations\nreturn os.sep"}
    )
    assert result.source == dedent(after)


def test_an_import_that_would_shadow_a_module_name_stays_local() -> None:
    before = """\
        from json import loads as parse


        def f(text):
            ...
    """
    after = """\
        from json import loads as parse


        def f(text):
            from ast import parse
            return parse(text)
    """
    body = "from ast import parse\nreturn parse(text)"
    result = inject_bodies(dedent(before), {"f": body}, HOIST)
    assert result.source == dedent(after)
    assert result.added_imports == []


def test_an_import_the_function_already_had_stays_local() -> None:
    before = """\
        def f():
            import heavy_module  # deferred: costly to import
            return heavy_module.run()
    """
    body = "import heavy_module  # deferred: costly to import\nreturn heavy_module.run(1)\n"
    result = inject_bodies(dedent(before), {"f": body}, HOIST)
    assert result.source == dedent(before).replace("run()", "run(1)")
    assert result.added_imports == []


def test_comments_before_a_moved_import_stay_in_the_body() -> None:
    before = """\
        def f():
            ...
    """
    after = """\
        import math


        def f():
            # Use the standard library.
            return math.pi
    """
    body = "# Use the standard library.\nimport math\nreturn math.pi\n"
    assert inject_bodies(dedent(before), {"f": body}, HOIST).source == dedent(after)
