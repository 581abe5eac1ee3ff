"""The preview validate checks: the syntax tree and body lines of ``inject_bodies``' module."""

from __future__ import annotations

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import StubbedModule, build_corpus
from pipeline.stages.inject import InjectError, InjectOptions, inject_bodies
from pipeline.stages.inject.preview import preview_bodies
from pipeline.stages.validate import validate_bodies
from pipeline.stages.validate import validator as validator_module


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


def assert_same_as_inject(source: str, bodies: dict[str, str]) -> None:
    preview = preview_bodies(source, bodies)
    assert preview is not None
    injected = inject_bodies(source, bodies)
    assert ast.dump(ast.parse(preview.source)) == ast.dump(ast.parse(injected.source))
    assert preview.body_lines == injected.body_lines
    assert preview.filled == injected.filled
    assert preview.source.count("\n") == injected.source.count("\n")


@pytest.mark.parametrize(
    "bodies",
    [
        {"Store.load": "return os.environ[key]\n"},
        {"Store.save": "\n\n    # write it\n    with open(key) as f:\n        f.write(data)\n\n"},
        {"Store.Inner.size": "if True:\n  return 1\nreturn 0\n"},
        {"helper": "# twice\n\nreturn value * 2\n"},
        {
            "Store.load": 'text = """\nraw\n  lines\n"""\nreturn text + f"""{key}\n!"""\n',
            "helper": "return (\nvalue\n)\n",
            "Store.save": "print(\n    data,\n)\n",
        },
    ],
    ids=["docstring-kept", "leading-blanks", "nested-unit", "comments", "multiline-strings"],
)
def test_the_preview_has_inject_s_tree_and_lines(bodies: dict[str, str]) -> None:
    assert_same_as_inject(MODULE, bodies)


def test_lines_inside_strings_keep_their_text() -> None:
    bodies = {"Store.load": 'return """\nraw\n  lines\n"""\n'}
    preview = preview_bodies(MODULE, bodies)
    assert preview is not None
    assert '"""\nraw\n  lines\n"""' in preview.source


@pytest.mark.parametrize(
    "bodies",
    [
        {"Store.load": "import json\nreturn json.dumps(key)\n"},
        {"helper": "def helper(value: int) -> int:\n    return value\n"},
        {"Store.load": '"""Load one thing."""\nreturn key\n'},
        {"Store.load": "return key\n# left behind\n"},
        {"Store.load": "\treturn key\n"},
        {"Store.load": "return key\r\n"},
    ],
    ids=["leading-import", "whole-def", "repeated-docstring", "trailing-comment", "tab", "crlf"],
)
def test_what_needs_inject_s_own_rules_is_left_to_it(bodies: dict[str, str]) -> None:
    assert preview_bodies(MODULE, bodies, InjectOptions(hoist_imports="stdlib")) is None


@pytest.mark.parametrize(
    "body",
    [
        "from __future__ import annotations\nreturn key\n",
        "import json\ndef load(self, key):\n    return json.dumps(key)\n",
        "raise ModelOnexError(key)\n",
    ],
    ids=["future-import", "import-and-whole-def", "a-configured-name-to-import"],
)
def test_what_inject_changes_by_default_is_left_to_it(body: str) -> None:
    options = InjectOptions(error_class="acme.errors:ModelOnexError")
    assert preview_bodies(MODULE, {"Store.load": body}, options) is None


def test_imports_that_stay_in_the_body_are_previewed_as_inject_writes_them() -> None:
    bodies = {"Store.load": "import json\n\nreturn json.dumps(key)\n"}
    preview = preview_bodies(MODULE, bodies)
    assert preview is not None
    injected = inject_bodies(MODULE, bodies)
    assert preview.source == injected.source
    assert preview.body_lines == injected.body_lines


def test_a_body_on_the_def_line_is_left_to_inject() -> None:
    assert preview_bodies("def f(): pass\n", {"f": "return 1\n"}) is None


def test_unknown_names_raise_inject_s_error() -> None:
    with pytest.raises(InjectError) as raised:
        preview_bodies(MODULE, {"Store.lod": "return key\n"})
    assert raised.value.code == InjectError.NAME_NOT_FOUND


@pytest.fixture(scope="module")
def corpus() -> list[StubbedModule]:
    return build_corpus(40)


def test_on_real_modules_the_preview_matches_inject_when_it_answers(
    corpus: list[StubbedModule],
) -> None:
    answered = 0
    for module in corpus:
        preview = preview_bodies(module.source, module.bodies)
        if preview is None:
            continue
        answered += 1
        injected = inject_bodies(module.source, module.bodies)
        assert ast.dump(ast.parse(preview.source)) == ast.dump(ast.parse(injected.source)), (
            module.relative_path
        )
        assert preview.body_lines == injected.body_lines, module.relative_path
    assert answered >= len(corpus) * 3 // 4  # bodies that start with imports take inject


def test_validation_reports_the_same_with_or_without_the_preview(
    corpus: list[StubbedModule], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = corpus[:12]
    with_preview = [validate_bodies(m.source, m.bodies) for m in sample]
    monkeypatch.setattr(
        validator_module, "preview_bodies", lambda source, bodies, options=None: None
    )
    without = [validate_bodies(m.source, m.bodies) for m in sample]
    assert with_preview == without


def test_code_nested_deeper_than_inject_takes_is_left_to_it() -> None:
    deep = "return " + " and ".join(["key"] * 300) + "\n"
    with pytest.raises(InjectError):
        inject_bodies(MODULE, {"Store.load": deep})
    assert preview_bodies(MODULE, {"Store.load": deep}) is None


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
    indent=st.sampled_from(["", "    ", "  ", "        "]),
    target=st.sampled_from(["Store.load", "Store.save", "Store.Inner.size", "helper"]),
)
def test_whatever_the_code_the_preview_agrees_with_inject_or_declines(
    lines: list[str], indent: str, target: str
) -> None:
    code = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
    try:
        injected = inject_bodies(MODULE, {target: code})
    except InjectError:
        injected = None
    preview = preview_bodies(MODULE, {target: code})
    if preview is None:
        return
    assert injected is not None, "the preview took code inject refuses"
    assert ast.dump(ast.parse(preview.source)) == ast.dump(ast.parse(injected.source))
    assert preview.body_lines == injected.body_lines
