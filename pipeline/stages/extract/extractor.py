"""Find the stubs of a module.

The module is parsed with :mod:`ast`, an order of magnitude faster than a
concrete syntax tree, and every text the result carries (signatures,
decorators, bases, imports) is sliced from the source at the exact positions
``ast`` reports, so it is the code as written. Comments, which ``ast`` drops,
are tokenized only where a comment marker's text occurs.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

from pipeline.models.stubs import ClassContext, ExtractionResult, Stub
from pipeline.stages.extract import comments
from pipeline.stages.extract.bodiless import Aliases, is_bodiless_by_design, is_protocol
from pipeline.stages.extract.errors import ExtractError
from pipeline.stages.extract.headers import FunctionNode, header_colon
from pipeline.stages.extract.markers import (
    Marker,
    dotted_name,
    is_ellipsis,
    parse_markers,
    raises,
    statements_after_docstring,
)
from pipeline.stages.extract.options import ExtractOptions
from pipeline.stages.extract.source import SourceText
from pipeline.stages.extract.walk import has_blocks, nested_blocks, scopes_in
from pipeline.stages.gc_pause import gc_paused
from pipeline.stages.inject.locate import accessor_key


@gc_paused()
def extract_stubs(
    source: str, options: ExtractOptions | None = None, *, path: str | None = None
) -> ExtractionResult:
    """The stubs of a module and its module-level imports.

    ``path`` only names the source in errors and marks a ``.pyi`` file, whose
    functions are all bodiless by design. Raises :class:`ExtractError` with code
    ``SOURCE_SYNTAX_ERROR`` for source Python cannot parse and ``INVALID_MARKER``
    for a malformed marker.
    """
    options = options or ExtractOptions()
    markers = parse_markers(tuple(options.markers))
    tree = _parse(source, path)
    stub_file = path is not None and path.endswith(".pyi")
    extractor = _Extractor(
        SourceText(source),
        markers,
        skip_bodiless=options.skip_bodiless,
        find_stubs=not (stub_file and options.skip_bodiless),
    )
    extractor.visit_block(tree.body, _MODULE, covered=False)
    return ExtractionResult(stubs=extractor.stubs, imports=extractor.imports)


def _parse(source: str, path: str | None) -> ast.Module:
    where = path or "<source>"
    try:
        with warnings.catch_warnings():
            # Invalid escapes and the like warn at parse time; they are not ours to report.
            warnings.simplefilter("ignore")
            return ast.parse(source, filename=where)
    except SyntaxError as error:
        line, column = error.lineno, error.offset
        raise ExtractError(
            f"cannot parse {where}: line {line}, column {column}: {error.msg}",
            code="SOURCE_SYNTAX_ERROR",
            path=path,
            line=line,
            column=column,
            reason=error.msg,
        ) from error
    except ValueError as error:  # NUL bytes, lone surrogates
        raise ExtractError(
            f"cannot parse {where}: {error}",
            code="SOURCE_SYNTAX_ERROR",
            path=path,
            reason=str(error),
        ) from error
    except (RecursionError, MemoryError) as error:
        # CPython's parser gives up on deeply nested code with one of these.
        reason = "the source is nested too deeply to parse"
        raise ExtractError(
            f"cannot parse {where}: {reason}", code="SOURCE_SYNTAX_ERROR", path=path, reason=reason
        ) from error


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a statement sits: what qualifies its names, and its class if it is one."""

    prefix: str
    cls: ast.ClassDef | None = None
    cls_qualname: str = ""
    protocol: bool = False

    @property
    def is_module(self) -> bool:
        return not self.prefix


_MODULE = _Scope(prefix="")


class _Extractor:
    def __init__(
        self,
        source: SourceText,
        markers: tuple[Marker, ...],
        *,
        skip_bodiless: bool,
        find_stubs: bool,
    ) -> None:
        self.source = source
        self.markers = markers
        self.skip_bodiless = skip_bodiless
        self.find_stubs = find_stubs
        self.aliases = Aliases()
        self.imports: list[str] = []
        self.stubs: list[Stub] = []
        self._colons: dict[FunctionNode, int] = {}
        self._occurrences: dict[str, list[int]] = {}
        self._classes: dict[ast.ClassDef, tuple[list[tuple[FunctionNode, str]], ClassContext]] = {}

    # -- traversal ------------------------------------------------------------

    def visit_block(self, body: list[ast.stmt], scope: _Scope, *, covered: bool) -> None:
        """Visit a statement list; ``covered`` means no stub is reported below it,
        because it is inside a stub or a function that is bodiless by design."""
        for statement in body:
            match statement:
                case ast.FunctionDef() | ast.AsyncFunctionDef():
                    self.visit_function(statement, scope, covered=covered)
                case ast.ClassDef():
                    self.visit_class(statement, scope, covered=covered)
                case ast.Import() | ast.ImportFrom() if scope.is_module:
                    self.aliases.add(statement)
                    self.imports.append(self.source.segment(statement))
                case _ if has_blocks(statement):  # if, for, while, with, try, match
                    for block in nested_blocks(statement):
                        self.visit_block(block, scope, covered=covered)

    def visit_function(self, node: FunctionNode, scope: _Scope, *, covered: bool) -> None:
        qualname = scope.prefix + node.name
        skipped = covered or not self.find_stubs or self._bodiless(node, scope)
        marker = None if skipped else self._matching_marker(node)
        if marker is not None:
            decorators = [dotted_name(decorator) or "" for decorator in node.decorator_list]
            key = accessor_key(qualname, node.name, decorators)
            self.stubs.append(self._stub(node, key, marker, scope))
        inner = _Scope(prefix=f"{qualname}.<locals>.")
        self.visit_block(node.body, inner, covered=skipped or marker is not None)

    def visit_class(self, node: ast.ClassDef, scope: _Scope, *, covered: bool) -> None:
        qualname = scope.prefix + node.name
        inner = _Scope(
            prefix=f"{qualname}.",
            cls=node,
            cls_qualname=qualname,
            protocol=self.skip_bodiless and is_protocol(node, self.aliases),
        )
        self.visit_block(node.body, inner, covered=covered)

    def _bodiless(self, node: FunctionNode, scope: _Scope) -> bool:
        return self.skip_bodiless and (scope.protocol or is_bodiless_by_design(node, self.aliases))

    # -- markers --------------------------------------------------------------

    def _matching_marker(self, node: FunctionNode) -> Marker | None:
        statements = statements_after_docstring(node.body)
        only = statements[0] if len(statements) == 1 else None
        for marker in self.markers:
            match marker.kind:
                case "comment":
                    matched = self._has_comment(node, marker.text)
                case "raise":
                    matched = only is not None and raises(only, marker.text)
                case "ellipsis":
                    matched = only is not None and is_ellipsis(only)
                case "pass-comment":
                    matched = isinstance(only, ast.Pass) and marker.text in self._comment_after(
                        only
                    )
            if matched:
                return marker
        return None

    def _has_comment(self, node: FunctionNode, text: str) -> bool:
        """A comment containing ``text`` in the function's own body."""
        occurrences = self._occurrences_of(text)
        return bool(occurrences) and comments.has_own_comment(
            self.source, node, text, occurrences, lambda: self._colon(node)
        )

    def _occurrences_of(self, text: str) -> list[int]:
        """The byte offsets where ``text`` occurs in the source, ascending."""
        found = self._occurrences.get(text)
        if found is None:
            data, needle = self.source.data, text.encode("utf-8")
            found = []
            at = data.find(needle)
            while at != -1:
                found.append(at)
                at = data.find(needle, at + 1)
            self._occurrences[text] = found
        return found

    def _comment_after(self, statement: ast.stmt) -> str:
        """The comment that ends the line a one-statement body ends on, or ``""``."""
        line = self.source.line(statement.end_lineno or statement.lineno)
        rest = line[statement.end_col_offset :].strip()
        if rest.startswith(b";"):
            rest = rest[1:].lstrip()
        return rest.decode("utf-8") if rest.startswith(b"#") else ""

    # -- results --------------------------------------------------------------

    def _colon(self, node: FunctionNode) -> int:
        colon = self._colons.get(node)
        if colon is None:
            colon = self._colons[node] = header_colon(self.source, node)
        return colon

    def _signature(self, node: FunctionNode) -> str:
        return self.source.slice(self.source.start_of(node), self._colon(node) + 1)

    def _stub(self, node: FunctionNode, qualname: str, marker: Marker, scope: _Scope) -> Stub:
        source = self.source
        return Stub(
            qualified_name=qualname,
            name=node.name,
            signature=self._signature(node),
            is_async=isinstance(node, ast.AsyncFunctionDef),
            decorators=[source.segment(decorator) for decorator in node.decorator_list],
            docstring=ast.get_docstring(node),
            class_context=self._class_context(node, scope),
            span=source.span(node),
            marker=marker.spec,
        )

    def _class_context(self, node: FunctionNode, scope: _Scope) -> ClassContext | None:
        cls = scope.cls
        if cls is None:
            return None
        context = self._classes.get(cls)
        if context is None:
            context = self._classes[cls] = self._describe_class(cls, scope.cls_qualname)
        methods, described = context
        return described.model_copy(
            update={
                "sibling_signatures": [
                    signature for method, signature in methods if method is not node
                ]
            }
        )

    def _describe_class(
        self, cls: ast.ClassDef, qualname: str
    ) -> tuple[list[tuple[FunctionNode, str]], ClassContext]:
        """A class's methods with their signatures, and its context without siblings."""
        arguments: list[ast.expr | ast.keyword] = [*cls.bases, *cls.keywords]
        arguments.sort(key=lambda argument: (argument.lineno, argument.col_offset))
        methods = [
            (method, self._signature(method))
            for method in scopes_in(cls.body)
            if not isinstance(method, ast.ClassDef)
        ]
        described = ClassContext(
            name=cls.name,
            qualified_name=qualname,
            bases=[self.source.segment(argument) for argument in arguments],
            docstring=ast.get_docstring(cls),
        )
        return methods, described
