"""The splice (ast to find, libcst to write only the new bodies) against the whole-module
path, on real stubbed modules and on any code: the same text, lines and errors, and the splice
answers nearly always."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.corpus import StubbedModule, build_corpus
from pipeline.stages.inject import InjectError, InjectOptions, inject_whole_module
from pipeline.stages.inject.splice import inject_spliced


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


MODULE = dedent(
    '''
    import os


    class Store:
        """Keeps things."""

        def load(self, key: str) -> str:
            """Load one thing."""

            # IMPLEMENTATION REQUIRED
            pass

        def save(self, key: str, data: str) -> None:
            raise NotImplementedError("later")
            # a comment the stub keeps after it

        class Inner:
            def size(self) -> int:
                ...


    def helper(
        value: int,
    ) -> int:
        pass  # Stub
    '''
)


def _outcome(function: object, source: str, bodies: dict[str, str]) -> object:
    assert callable(function)
    try:
        result = function(source, bodies, InjectOptions())
    except InjectError as error:
        return (error.code, error.message)
    return None if result is None else result.model_dump()


@pytest.fixture(scope="module")
def corpus() -> list[StubbedModule]:
    return build_corpus(40)


def test_on_real_modules_the_splice_answers_as_the_whole_module_path(
    corpus: list[StubbedModule],
) -> None:
    spliced = 0
    for module in corpus:
        fast = _outcome(inject_spliced, module.source, module.bodies)
        if fast is None:
            continue
        spliced += 1
        whole = _outcome(inject_whole_module, module.source, module.bodies)
        assert fast == whole, module.relative_path
    assert spliced >= len(corpus) * 95 // 100


_LINES = st.sampled_from(
    [
        "x = key",
        "",
        "# a comment",
        "    # an indented comment",
        "if key:",
        "  return key",
        "for item in key:",
        "    pass",
        "text = '''",
        "raw line",
        "'''",
        "value = (",
        "1,",
        ")",
        "return None",
        '"""A string statement."""',
        "import json",
        "while False: break",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_LINES, min_size=1, max_size=8),
    indent=st.sampled_from(["", "    ", "  ", "        ", "            "]),
    target=st.sampled_from(["Store.load", "Store.save", "Store.Inner.size", "helper"]),
)
# Comments after the code, indented deeper than it: libcst drops a blank line and a repeated
# comment there, and the splice must write what the whole-module path writes.
@example(lines=["x = key", "", "    # an indented comment"], indent="", target="Store.load")
@example(
    lines=["x = key", "    # an indented comment", "    # an indented comment"],
    indent="",
    target="Store.load",
)
def test_whatever_the_code_the_splice_answers_as_the_whole_module_path(
    lines: list[str], indent: str, target: str
) -> None:
    code = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
    fast = _outcome(inject_spliced, MODULE, {target: code})
    assert fast is not None, "the splice gave up"
    assert fast == _outcome(inject_whole_module, MODULE, {target: code})
