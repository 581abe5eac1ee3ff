"""How libcst splits blocks, read off the ``ast`` and the text of a module.

libcst gives the comment and blank lines after a block's last statement to the block (its
footer) up to the last one that starts with the block's indentation; the rest go to what follows.
A statement's last line, for libcst, takes in the footers of its last blocks.
"""

from __future__ import annotations

import ast

from pipeline.stages.inject.text import SourceLines
from pipeline.stages.syntax_tree import last_block, statement_start


def starts_its_line(statement: ast.stmt, text: SourceLines) -> bool:
    line = statement_start(statement)
    content = text.line(line)[len(text.indentation(line)) :]
    if getattr(statement, "decorator_list", None):
        return content.startswith("@")
    return len(text.indentation(line)) == statement.col_offset and not content.startswith("\\")


def end_line(statement: ast.stmt, text: SourceLines) -> int:
    """The statement's last line for libcst: with the footers of its last blocks."""
    end = statement.end_lineno
    assert end is not None
    if isinstance(statement, ast.If) and _is_elif(statement.orelse, text):
        return end_line(statement.orelse[0], text)  # libcst: the ``elif`` is no block
    block = last_block(statement)
    if not block or not starts_its_line(block[0], text):
        return end  # a simple statement, or a block on its header's line (no footer)
    inner = end_line(block[-1], text)
    return inner + len(footer_lines(text, inner, text.indentation(statement_start(block[0]))))


def _is_elif(orelse: list[ast.stmt], text: SourceLines) -> bool:
    if len(orelse) != 1 or not isinstance(orelse[0], ast.If):
        return False
    line = orelse[0].lineno
    return text.line(line)[len(text.indentation(line)) :].startswith("elif")


def footer_lines(text: SourceLines, after: int, indent: str) -> list[str]:
    """The comment and blank lines after line ``after`` that libcst gives to a block indented
    ``indent`` (absolute): up to the last one that starts with that indentation."""
    lines: list[str] = []
    length = 0
    number = after + 1
    while number <= len(text.lines) and is_empty_line(line := text.line(number)):
        lines.append(line)
        if line.startswith(indent):
            length = len(lines)
        number += 1
    return lines[:length]


def is_blank(line: str) -> bool:
    return not line.strip(" \t\r\n")


def is_empty_line(line: str) -> bool:
    """A blank line or a comment line: what libcst parses as an ``EmptyLine``."""
    content = line.lstrip(" \t")
    return not content.strip("\r\n") or content.startswith("#")


def continued(line: str) -> bool:
    return line.rstrip("\r\n").endswith("\\")
