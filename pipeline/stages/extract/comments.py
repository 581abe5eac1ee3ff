"""The comments that belong to a function's own body.

``ast`` drops comments, so they are found in the text, and only where a comment
marker's text occurs. Ownership follows libcst: a comment belongs to the
innermost def or class whose body holds it, and the comment lines right after
a body belong to it (its *footer*) up to the last one indented at least as deep
as the body.

Most occurrences are decided from the statements around them: on a line no
statement covers, or after the last statement on its line, text after ``#`` is
a comment. Anything else (text inside a compound statement, say) is decided by
tokenizing the function.
"""

from __future__ import annotations

import ast
import tokenize
from bisect import bisect_left
from collections.abc import Callable, Iterator

from pipeline.stages.extract.headers import FunctionNode
from pipeline.stages.extract.source import SourceText
from pipeline.stages.extract.walk import ScopeNode, scopes_in

LineRange = tuple[int, int]


def has_own_comment(
    source: SourceText,
    node: FunctionNode,
    text: str,
    occurrences: list[int],
    header_colon: Callable[[], int],
) -> bool:
    """Whether a comment of the function's own body contains ``text``.

    ``occurrences`` are the ascending byte offsets of ``text`` in the whole
    source; ``header_colon`` gives the byte offset of the header's colon, asked
    only when some occurrence falls inside the function.
    """
    first = bisect_left(occurrences, source.start_of(node))
    if first == len(occurrences):
        return False
    last = last_line(source, node)
    stop = bisect_left(occurrences, source.starts[last], lo=first)
    if first == stop:
        return False
    colon = header_colon()
    first = bisect_left(occurrences, colon, lo=first, hi=stop)
    nested = nested_ranges(source, node)
    undecided = False
    for offset in occurrences[first:stop]:
        line = source.line_of(offset)
        if _within(line, nested):
            continue
        verdict = _in_comment(source, node.body, colon, offset, line)
        if verdict:
            return True
        undecided = undecided or verdict is None
    return undecided and any(
        text in comment for comment in own_comments(source, node, colon, last, nested)
    )


def _within(line: int, ranges: list[LineRange]) -> bool:
    return any(start <= line <= end for start, end in ranges)


def _in_comment(
    source: SourceText, body: list[ast.stmt], colon: int, offset: int, line: int
) -> bool | None:
    """Whether ``offset`` on ``line`` is inside a comment; None when the statements
    around it cannot tell."""
    ends = [colon + 1] if source.line_of(colon) == line else []
    for statement in body:
        end_line = statement.end_lineno or statement.lineno
        if statement.lineno <= line <= end_line:
            if end_line != line:
                return None
            ends.append(source.end_of(statement))
    start = max(ends, default=source.starts[line - 1])
    tail = source.data[start : source.starts[line]]
    code = tail.lstrip()
    if not code.startswith(b"#"):
        return None
    return offset >= start + len(tail) - len(code)


def last_line(source: SourceText, node: ScopeNode) -> int:
    """The last line of a def or class, counting its footer comments."""
    first = node.body[0]
    indent = source.line(first.lineno)[: first.col_offset]
    last = node.end_lineno or node.lineno
    if indent.strip():  # a one-line body (``def f(): ...``) has no footer
        return last
    for number in range(last + 1, source.line_count + 1):
        line = source.line(number)
        stripped = line.lstrip()
        if stripped.startswith(b"#"):
            if line.startswith(indent):
                last = number
        elif stripped.strip():
            break
    return last


def nested_ranges(source: SourceText, node: FunctionNode) -> list[LineRange]:
    """The lines of the defs and classes nested in a function, decorators included;
    whole lines suffice, since a def or class always starts and ends a line."""
    return [
        (
            nested.decorator_list[0].lineno if nested.decorator_list else nested.lineno,
            last_line(source, nested),
        )
        for nested in scopes_in(node.body)
    ]


def own_comments(
    source: SourceText, node: FunctionNode, colon: int, last: int, nested: list[LineRange]
) -> Iterator[str]:
    """The comments after the header colon (a byte offset) through line ``last``,
    outside the ``nested`` line ranges, found by tokenizing the function."""
    colon_line = source.line_of(colon)
    colon_column = source.char_column(colon_line, colon - source.starts[colon_line - 1])
    first = node.lineno
    tokens = tokenize.generate_tokens(source.readline(first, last).__next__)
    try:
        for token in tokens:
            if token.type != tokenize.COMMENT:
                continue
            line = first + token.start[0] - 1
            if (line, token.start[1]) > (colon_line, colon_column) and not _within(line, nested):
                yield token.string
    except (tokenize.TokenError, SyntaxError):  # pragma: no cover - a valid def tokenizes
        return
