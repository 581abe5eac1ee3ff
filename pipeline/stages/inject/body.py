"""Parse generated code into statements that can go into a function body.

Generated code is either a bare body or a whole ``def``/``async def`` of the function (then
its body is taken), written at any indentation. It is parsed once, in the newline style of
the module it goes into:

* code whose first statement starts in column 0 is parsed as a module;
* indented code is parsed as the body of a wrapper ``def``, so that nothing has to be
  dedented by hand (the lines inside a multi-line string keep their exact text).
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from pipeline.stages.inject.errors import InjectError
from pipeline.stages.inject.locate import function_names

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTINUATION = re.compile(r"\\(?:\r\n|\r|\n)")
WRAPPER = "def _():"
"""What indented code is parsed in (as this def's body)."""


@dataclass(frozen=True)
class ParsedBody:
    """Generated code, parsed.

    ``statements[0].leading_lines`` hold the comments written before the first statement.
    ``footer`` holds the comments written after the last one (blank lines at either end are
    dropped). ``parsed_indent`` is the parsed module's default indentation: what a block with
    ``indent=None`` stands for.
    ``top_level`` tells that the code was parsed as a module, so its blank lines at the top
    indentation level carry ``indent=True`` and must be normalised before they go into a block.
    ``base_indent`` is where the statements start in the code's text (what a line continued
    after a backslash is indented relative to); ``continued`` tells that there is such a line.
    """

    statements: tuple[cst.BaseStatement, ...]
    footer: tuple[cst.EmptyLine, ...]
    parsed_indent: str
    top_level: bool
    whole_def: bool
    base_indent: str = ""
    continued: bool = False


def parse_body(code: str, *, qualified_name: str, newline: str) -> ParsedBody:
    """Parse the generated code for ``qualified_name``; raise ``BODY_SYNTAX_ERROR``."""
    text = body_text(code, newline)
    indent = first_code_indent(text)
    if indent is None:
        raise _body_error(qualified_name, 1, "there is no statement in the generated code")
    config = _config(newline)
    if not indent:
        module = _parse(text, config, qualified_name, line_offset=0)
        statements = _with_leading(module.body, module.header)
        footer = tuple(module.footer)
    else:
        module = _parse(WRAPPER + newline + text, config, qualified_name, line_offset=1)
        wrapper = module.body[0]
        if len(module.body) != 1 or not isinstance(wrapper, cst.FunctionDef):
            line = module.code_for_node(wrapper).count(newline)
            raise _body_error(
                qualified_name, line, "a line is indented less than the first statement"
            )
        block = wrapper.body
        assert isinstance(block, cst.IndentedBlock)  # the wrapper is always a block
        statements = _with_leading(block.body, ())
        footer = (*block.footer, *module.footer)
    parsed = ParsedBody(
        statements=statements,
        footer=_strip_blank_tail(footer),
        parsed_indent=module.default_indent,
        top_level=not indent,
        whole_def=False,
        base_indent=indent,
        continued=_CONTINUATION.search(text) is not None,
    )
    return _unwrap_def(parsed, function_names(qualified_name))


@functools.cache
def _config(newline: str) -> cst.PartialParserConfig:
    return cst.PartialParserConfig(default_newline=newline)  # costly to build: once a newline


def body_text(code: str, newline: str) -> str:
    """The code as it is parsed: in the module's newline style, ending with a line break."""
    text = _with_newline(code, newline)
    return text if text.endswith(("\n", "\r")) else text + newline


def _with_newline(code: str, newline: str) -> str:
    """Write code that uses a single newline style in the module's style."""
    breaks = set(_LINE_BREAK.findall(code))
    if len(breaks) == 1 and newline not in breaks:
        return _LINE_BREAK.sub(newline, code)
    return code


def first_code_indent(text: str) -> str | None:
    """The indentation of the first line that is neither blank nor a comment."""
    for line in _LINE_BREAK.split(text):
        content = line.lstrip(" \t\f")
        if content and not content.startswith("#"):
            return line[: len(line) - len(content)]
    return None


def _parse(
    text: str, config: cst.PartialParserConfig, qualified_name: str, *, line_offset: int
) -> cst.Module:
    hazard = too_deep(text, MAX_BODY_DEPTH)
    if hazard is not None:
        raise _body_error(qualified_name, hazard[0] - line_offset, hazard[1])
    try:
        return cst.parse_module(text, config)
    except cst.ParserSyntaxError as error:
        line, reason = syntax_error_location(text, error)
        raise _body_error(qualified_name, line - line_offset, reason) from error
    except UnicodeEncodeError as error:  # a lone surrogate: no source file can hold it
        line = text.count("\n", 0, error.start) + 1
        reason = f"character {text[error.start]!r} cannot be encoded as UTF-8"
        raise _body_error(qualified_name, line - line_offset, reason) from error


# libcst recurses once per nesting level: its Python visitors hit the recursion limit some
# 300 levels deep (RecursionError), and its native parser, some thousands of levels deep
# (about 1,200 nested brackets, 6,000 chained attributes or `and`s), overflows the thread's
# stack: the process dies of SIGSEGV, no exception is raised. CPython's parser refuses such
# code first (too many nested parentheses, RecursionError, MemoryError: its limit is about
# 3,000 levels), except a long `and`/`or` chain, which is flat in `ast` and nested in libcst.
_SHORT_TEXT = 1_000
"""Characters: shorter text cannot nest deep enough to overflow libcst's parser."""
_MAX_DEPTH = 4_000
"""The deepest nesting let through to libcst's parser, a chain of n `and`s being n levels."""
MAX_BODY_DEPTH = 200
"""The deepest nesting of generated code: libcst's visitors must walk it."""
_BOOL_WORDS = re.compile(r"\b(?:and|or)\b")


def many_bool_operators(text: str) -> bool:
    """Cheap: whether ``text`` may hold `and`/`or` chains that add up to a dangerous depth."""
    return len(text) >= _SHORT_TEXT and len(_BOOL_WORDS.findall(text)) >= _MAX_DEPTH - 3_000


def too_deep(text: str, max_depth: int = _MAX_DEPTH) -> tuple[int, str] | None:
    """(line, reason) when ``text`` nests deeper than libcst can safely parse, else None.

    Text that does not parse for another reason is left to libcst, which reports it.
    """
    if len(text) < min(_SHORT_TEXT, max_depth):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (RecursionError, MemoryError):
        return 1, "the code is nested too deeply to parse"
    except SyntaxError as error:
        if "too many nested parentheses" in error.msg:
            return error.lineno or 1, error.msg
        return None
    except ValueError:  # null bytes
        return None
    if max_depth >= _MAX_DEPTH and not many_bool_operators(text):
        return None  # what CPython's parser accepts is shallower
    return tree_too_deep(tree, max_depth)


def tree_too_deep(tree: ast.AST, max_depth: int) -> tuple[int, str] | None:
    """(line, reason) when the parsed code nests deeper than ``max_depth`` for libcst."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 1
        if depth > max_depth:
            return getattr(node, "lineno", 1), (
                f"the code nests over {max_depth} levels deep (each operand of an `and`/`or` "
                "chain is a level), more than the inject stage handles"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def syntax_error_location(text: str, error: cst.ParserSyntaxError) -> tuple[int, str]:
    """Line and reason of a syntax error: CPython's when it agrees that the text is wrong (its
    locations and messages are the clearer ones, e.g. for an unmatched bracket), else libcst's."""
    try:
        ast.parse(text)
    except SyntaxError as python_error:
        if python_error.lineno is not None:
            return python_error.lineno, python_error.msg
    except ValueError:  # null bytes
        pass
    return error.raw_line, error.message


def _body_error(qualified_name: str, line: int, reason: str) -> InjectError:
    return InjectError(
        f"the generated code for {qualified_name!r} does not parse: line {line}: {reason}",
        code=InjectError.BODY_SYNTAX_ERROR,
        qualified_name=qualified_name,
        line=line,
        reason=reason,
    )


def leading_lines(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    """The comment and blank lines before a statement."""
    assert isinstance(statement, cst.SimpleStatementLine | cst.BaseCompoundStatement)
    return statement.leading_lines


def _with_leading(
    statements: Sequence[cst.BaseStatement], lines: Sequence[cst.EmptyLine]
) -> tuple[cst.BaseStatement, ...]:
    """Put ``lines`` before the leading lines of the first statement, minus leading blanks."""
    if not statements:
        return ()
    first = statements[0]
    leading = _strip_blank_head((*lines, *leading_lines(first)))
    return (first.with_changes(leading_lines=leading), *statements[1:])


def _strip_blank_head(lines: tuple[cst.EmptyLine, ...]) -> tuple[cst.EmptyLine, ...]:
    start = 0
    while start < len(lines) and lines[start].comment is None:
        start += 1
    return lines[start:]


def _strip_blank_tail(lines: tuple[cst.EmptyLine, ...]) -> tuple[cst.EmptyLine, ...]:
    end = len(lines)
    while end and lines[end - 1].comment is None:
        end -= 1
    return lines[:end]


def is_docstring_line(statement: cst.BaseStatement) -> bool:
    """Whether a statement is a line holding only a string (bytes too; no f-string alone)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    expression = statement.body[0]
    return isinstance(expression, cst.Expr) and isinstance(
        expression.value, cst.SimpleString | cst.ConcatenatedString
    )


def is_future_import(statement: cst.BaseSmallStatement) -> bool:
    module = statement.module if isinstance(statement, cst.ImportFrom) else None
    return isinstance(module, cst.Name) and module.value == "__future__"


def is_import_line(statement: cst.BaseStatement) -> bool:
    """Whether a statement is a line of import statements only."""
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _unwrap_def(parsed: ParsedBody, names: set[str]) -> ParsedBody:
    """If the code is (imports and) a whole ``def`` of one of ``names``, keep the imports and
    its body."""
    statements = parsed.statements
    imports = 0
    while imports < len(statements) and is_import_line(statements[imports]):
        imports += 1
    rest = statements[imports:]
    if len(rest) != 1:
        return parsed
    function = rest[0]
    if not isinstance(function, cst.FunctionDef) or function.name.value not in names:
        return parsed
    body = function.body
    base_indent = parsed.base_indent
    if isinstance(body, cst.IndentedBlock):
        inner: tuple[cst.BaseStatement, ...] = tuple(body.body)
        footer = (*body.footer, *parsed.footer)
        base_indent += parsed.parsed_indent if body.indent is None else body.indent
    else:
        assert isinstance(body, cst.SimpleStatementSuite)
        line = cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
        inner = (line,)
        footer = parsed.footer
    return ParsedBody(
        statements=(*statements[:imports], *_with_leading(inner, ())),
        footer=_strip_blank_tail(footer),
        parsed_indent=parsed.parsed_indent,
        # The def's body was parsed inside a block: its blank lines are already right.
        top_level=False,
        whole_def=True,
        base_indent=base_indent,
        continued=parsed.continued,
    )
