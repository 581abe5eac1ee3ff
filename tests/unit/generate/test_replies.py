"""Taking the code out of a model's reply."""

from __future__ import annotations

import ast
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.stages.generate import GenerateError
from pipeline.stages.generate.replies import ExtractedCode, extract_code, split_reasoning

BODY = 'words = text.lower().split()\nreturn "-".join(words)'


def code_of(
    reply: str, name: str = "slugify", *, finish_reason: str | None = None
) -> ExtractedCode:
    return extract_code(reply, name, finish_reason=finish_reason)


def same_code(a: str, b: str) -> bool:
    wrap = "async def _():\n"
    return ast.dump(ast.parse(wrap + textwrap.indent(a, "    "))) == ast.dump(
        ast.parse(wrap + textwrap.indent(b, "    "))
    )


# ---------------------------------------------------------------- fences


@pytest.mark.parametrize(
    "opening", ["```python", "```py", "```", "~~~", "~~~python", "````python", "```Python3"]
)
def test_every_fence_style(opening: str) -> None:
    closing = opening[0] * (len(opening) - len(opening.lstrip(opening[0])))
    found = code_of(f"{opening}\n{BODY}\n{closing}")
    assert found.code == BODY
    assert found.fenced and not found.whole_def


def test_prose_before_and_after() -> None:
    reply = f"Here's the body:\n\n```python\n{BODY}\n```\n\nThis splits the text. Enjoy!"
    assert code_of(reply).code == BODY


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert code_of(f"Here:\n```python\n{BODY}\n").code == BODY


def test_the_fence_that_defines_the_function_wins() -> None:
    whole = "def slugify(text: str) -> str:\n    return text.lower()"
    reply = (
        f"Usage:\n```python\nprint(slugify('A B'))\nx = 1\ny = 2\nz = 3\n```\n"
        f"Implementation:\n```python\n{whole}\n```\n"
    )
    found = code_of(reply)
    assert found.whole_def
    assert found.code == whole


def test_the_longest_parsable_fence_wins() -> None:
    reply = f"```python\nreturn 1\n```\nor better\n```python\n{BODY}\n```\n```python\nbroken(\n```"
    assert code_of(reply).code == BODY


def test_a_fence_that_does_not_parse_is_skipped() -> None:
    reply = f"```python\nthis is not python(\n```\n```\n{BODY}\n```"
    assert code_of(reply).code == BODY


def test_other_languages_come_last() -> None:
    reply = '```json\n{"a": 1, "b": [1, 2, 3, 4, 5, 6, 7]}\n```\n```python\nreturn 1\n```'
    assert code_of(reply).code == "return 1"


def test_fence_info_with_attributes() -> None:
    assert code_of(f'```python title="slug.py"\n{BODY}\n```').code == BODY
    assert code_of(f"```{{.python}}\n{BODY}\n```").code == BODY


def test_a_python_fence_that_does_not_parse_goes_to_the_validator() -> None:
    """Its syntax error is reported by the validator and repaired by the next attempt."""
    found = code_of("```python\nreturn (1,\n```")
    assert found.code == "return (1,\n" and not found.parses


def test_an_unparsable_fence_of_another_language_is_no_code() -> None:
    with pytest.raises(GenerateError) as caught:
        code_of("```json\n{not python\n```")
    assert caught.value.code == "NO_CODE_IN_REPLY"
    assert "code block" in caught.value.message


def test_a_fence_with_only_a_placeholder_is_no_code() -> None:
    for placeholder in ("pass", "...", "raise NotImplementedError", "# TODO\npass"):
        with pytest.raises(GenerateError) as caught:
            code_of(f"```python\n{placeholder}\n```")
        assert caught.value.code == "NO_CODE_IN_REPLY"


# ---------------------------------------------------------------- whole defs


def test_a_whole_def_is_kept_whole() -> None:
    whole = 'def slugify(text: str) -> str:\n    """Doc."""\n    return text.lower()'
    found = code_of(f"```python\n{whole}\n```")
    assert found == ExtractedCode(whole, whole_def=True, fenced=True)


def test_an_async_def_with_decorator_and_imports() -> None:
    whole = "import re\n\n@cached\nasync def fetch(url: str) -> str:\n    return await get(url)"
    found = code_of(f"```python\n{whole}\n```", "Client.fetch")
    assert found.whole_def
    assert found.code == whole


def test_extra_top_level_code_around_the_def_is_dropped() -> None:
    reply = (
        "```python\nimport re\n\n"
        "def slugify(text: str) -> str:\n    return re.sub(r'\\s+', '-', text.lower())\n\n"
        "if __name__ == '__main__':\n    print(slugify('A B'))\n```"
    )
    found = code_of(reply)
    assert found.whole_def
    assert found.code == (
        "import re\ndef slugify(text: str) -> str:\n    return re.sub(r'\\s+', '-', text.lower())"
    )


def test_a_method_inside_its_class_is_taken_out() -> None:
    reply = (
        "```python\nclass Cart:\n    def total(self) -> int:\n        return sum(self.items)\n```"
    )
    found = code_of(reply, "Cart.total")
    assert found.whole_def
    assert found.code == "def total(self) -> int:\n    return sum(self.items)"


def test_a_def_of_another_name_is_a_body_with_a_helper() -> None:
    reply = "```python\ndef helper(x: int) -> int:\n    return x * 2\nreturn helper(3)\n```"
    found = code_of(reply)
    assert not found.whole_def
    assert found.code.endswith("return helper(3)")


def test_a_whole_def_that_is_still_a_stub_is_no_code() -> None:
    with pytest.raises(GenerateError):
        code_of("```python\ndef slugify(text: str) -> str:\n    ...\n```")


# ---------------------------------------------------------------- no fences


def test_bare_code() -> None:
    assert code_of(BODY).code == BODY


def test_bare_code_among_prose() -> None:
    reply = f"Here is the implementation:\n\n{textwrap.indent(BODY, '    ')}\n\nHope this helps."
    assert code_of(reply).code == BODY


def test_bare_whole_def_after_prose() -> None:
    reply = (
        "Sure, here it is.\n"
        "def slugify(text: str) -> str:\n    return text.lower()\n"
        "This lower-cases the text."
    )
    found = code_of(reply)
    assert found.whole_def
    assert found.code == "def slugify(text: str) -> str:\n    return text.lower()"


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   \n\n",
        "I'm sorry, I can't help with that.",
        "Done",
        "<think>the user wants a slug</think>",
    ],
)
def test_no_code(reply: str) -> None:
    with pytest.raises(GenerateError) as caught:
        code_of(reply)
    assert caught.value.code == "NO_CODE_IN_REPLY"


def test_none_is_no_code() -> None:
    with pytest.raises(GenerateError):
        extract_code(None, "slugify")


def test_reasoning_is_dropped() -> None:
    reply = f"<think>\nLet me write ```python\nbad(\n``` first.\n</think>\n```python\n{BODY}\n```"
    assert code_of(reply).code == BODY


def test_console_prompts_are_removed() -> None:
    reply = "```pycon\n>>> words = text.split()\n>>> return '-'.join(words)\n```"
    assert code_of(reply).code == "words = text.split()\nreturn '-'.join(words)"


# ---------------------------------------------------------------- indentation


def test_common_indentation_is_removed() -> None:
    assert code_of(f"```python\n{textwrap.indent(BODY, '        ')}\n```").code == BODY


def test_a_first_line_without_its_indentation() -> None:
    reply = "```python\nwords = text.split()\n    return '-'.join(words)\n```"
    assert code_of(reply).code == "words = text.split()\nreturn '-'.join(words)"


def test_tabs() -> None:
    reply = "```python\n\tif text:\n\t\treturn text\n\treturn ''\n```"
    assert same_code(code_of(reply).code, "if text:\n    return text\nreturn ''")


def test_windows_newlines() -> None:
    assert code_of(f"```python\r\n{BODY.replace(chr(10), chr(13) + chr(10))}\r\n```").code == BODY


def test_a_multiline_string_keeps_its_text() -> None:
    body = 'sql = """\n    SELECT 1\n"""\nreturn sql'
    assert code_of(f"```python\n{body}\n```").code == body


def test_a_cut_reply_names_the_token_limit() -> None:
    with pytest.raises(GenerateError) as caught:
        code_of("```python\nfor x in (\n", finish_reason="length")
    assert "token limit" in caught.value.message
    assert caught.value.details["finish_reason"] == "length"


@pytest.mark.parametrize(
    "reply",
    [f"```python\n{BODY}\n", f"```python\n{BODY}\n```", BODY, f"def slugify(text):\n    {BODY}"],
    ids=["open-fence", "closed-fence", "bare", "whole-def"],
)
def test_a_cut_reply_is_never_code_even_when_it_parses(reply: str) -> None:
    with pytest.raises(GenerateError) as caught:
        code_of(reply, finish_reason="length")
    assert caught.value.code == "REPLY_CUT"


def test_a_lone_closing_think_ends_the_reasoning() -> None:
    draft = "def slugify(text: str) -> str:\n    return text"
    reply = f"Draft:\n```python\n{draft}\n```\nNo, better:\n</think>\n\n```python\n{BODY}\n```"
    assert code_of(reply).code == BODY


@pytest.mark.parametrize(
    ("text", "answer", "reasoning"),
    [
        ("plan</think>answer", "answer", "plan"),
        ("<think>plan</think>answer", "answer", "plan"),
        ("<thinking>a</thinking>b<think>c", "b", "a\nc"),
        ("answer without reasoning", "answer without reasoning", ""),
    ],
)
def test_split_reasoning(text: str, answer: str, reasoning: str) -> None:
    assert split_reasoning(text) == (answer, reasoning)


# ---------------------------------------------------------------- properties

_names = st.sampled_from(["x", "total", "items", "value", "result", "text"])
_exprs = st.one_of(
    _names,
    st.integers(-1000, 1000).map(str),
    st.tuples(_names, _names).map(lambda t: f"{t[0]} + {t[1]}"),
    st.tuples(_names, _names).map(lambda t: f"{t[0]}.get({t[1]!r})"),
)
_statements = st.one_of(
    st.tuples(_names, _exprs).map(lambda t: f"{t[0]} = {t[1]}"),
    _exprs.map(lambda e: f"return {e}"),
    st.tuples(_names, _exprs).map(lambda t: f"if {t[0]}:\n    {t[0]} = {t[1]}"),
    st.tuples(_names, _names).map(lambda t: f"for {t[0]} in {t[1]}:\n    log({t[0]})"),
)
bodies = st.lists(_statements, min_size=1, max_size=8).map("\n".join)
prose = st.lists(
    st.sampled_from(
        [
            "Here is the code.",
            "Sure!",
            "This implementation handles the edge cases.",
            "Note the early return.",
            "Let me know if you need changes.",
            "",
        ]
    ),
    max_size=3,
).map("\n".join)
fences = st.sampled_from([("```python", "```"), ("```py", "```"), ("```", "```"), ("~~~", "~~~")])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=bodies, before=prose, after=prose, fence=fences, indent=st.integers(0, 8))
def test_a_fenced_body_survives_any_wrapping(
    body: str, before: str, after: str, fence: tuple[str, str], indent: int
) -> None:
    reply = f"{before}\n{fence[0]}\n{textwrap.indent(body, ' ' * indent)}\n{fence[1]}\n{after}"
    found = code_of(reply)
    assert not found.whole_def
    assert same_code(found.code, body)


@settings(max_examples=100, deadline=None)
@given(body=bodies, indent=st.integers(0, 8))
def test_a_bare_body_survives_indentation(body: str, indent: int) -> None:
    found = code_of(textwrap.indent(body, " " * indent))
    assert same_code(found.code, body)


@settings(max_examples=100, deadline=None)
@given(body=bodies, before=prose)
def test_a_whole_def_is_recognised(body: str, before: str) -> None:
    whole = "def slugify(text: str) -> str:\n" + textwrap.indent(body, "    ")
    found = code_of(f"{before}\n```python\n{whole}\n```")
    assert found.whole_def
    assert found.code == whole


@settings(max_examples=300, deadline=None)
@given(reply=st.text(max_size=400))
def test_any_text_gives_code_or_no_code_in_reply(reply: str) -> None:
    try:
        found = code_of(reply)
    except GenerateError as error:
        assert error.code == "NO_CODE_IN_REPLY"
    else:
        if found.parses:
            ast.parse("async def _():\n" + textwrap.indent(found.code, "    ", lambda _: True))
        else:
            assert found.fenced


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.sampled_from(["```", "```python", "~~~", "\n", "return 1", "def (", "  "]),
            st.text(max_size=20),
        ),
        max_size=30,
    )
)
def test_fence_soup_never_crashes(parts: list[str]) -> None:
    try:
        code_of("\n".join(parts))
    except GenerateError as error:
        assert error.code == "NO_CODE_IN_REPLY"


@pytest.mark.parametrize(
    "reply",
    [
        "```python\ndef slugify_words(text: str) -> list[str]:\n    return text.split()\n```",
        "```python\nimport re\n\nclass Slugger:\n    def run(self) -> str:\n        return ''\n```",
    ],
    ids=["another-def", "a-class"],
)
def test_code_that_only_defines_other_things_is_no_body(reply: str) -> None:
    with pytest.raises(GenerateError) as caught:
        code_of(reply)
    assert caught.value.code == "NO_CODE_IN_REPLY"
