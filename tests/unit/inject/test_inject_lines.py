"""body_lines: where the new body statements are in the new source."""

from __future__ import annotations

from textwrap import dedent

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider

from pipeline.stages.inject import InjectOptions, inject_bodies

BEFORE = dedent(
    '''\
    """Module."""
    import os


    class A:
        def f(
            self,
        ):
            """Doc."""

            # IMPLEMENTATION REQUIRED
            raise NotImplementedError

        def g(self): ...  # stub


    def h():
        ...
    '''
)


def test_body_lines_point_at_the_new_statements() -> None:
    bodies = {
        "A.f": "import re\n# Match.\nif re.match('a', 'b'):\n    return 1\nreturn 2\n",
        "A.g": "return os.sep",
        "h": "def h():\n    x = 1\n    return x\n",
    }
    result = inject_bodies(BEFORE, bodies, InjectOptions(hoist_imports="stdlib"))
    lines = result.source.splitlines()
    first, last = result.body_lines["A.f"]
    assert lines[first - 1].strip() == "# Match."
    assert lines[first - 2].strip() == ""  # the kept blank line after the docstring
    assert lines[last - 1].strip() == "return 2"
    first, last = result.body_lines["A.g"]
    assert first == last
    assert lines[first - 1] == "        return os.sep"
    first, last = result.body_lines["h"]
    assert [line.strip() for line in lines[first - 1 : last]] == ["x = 1", "return x"]


def test_body_lines_agree_with_libcst_positions() -> None:
    bodies = {"A.f": "y = [\n    1,\n    2,\n]\nreturn y\n", "h": "while True:\n    break\n"}
    result = inject_bodies(BEFORE.replace("\n", "\r\n"), bodies)
    wrapper = MetadataWrapper(cst.parse_module(result.source))
    positions = wrapper.resolve(PositionProvider)
    defs = {
        node.name.value: node
        for node in m.findall(wrapper.module, m.FunctionDef())
        if isinstance(node, cst.FunctionDef)
    }
    for name, function in (("A.f", defs["f"]), ("h", defs["h"])):
        assert isinstance(function.body, cst.IndentedBlock)
        statements = function.body.body
        new = statements[1:] if name == "A.f" else statements
        expected = (positions[new[0]].start.line, positions[new[-1]].end.line)
        assert result.body_lines[name] == expected
