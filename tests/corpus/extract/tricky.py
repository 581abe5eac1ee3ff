"""A module of awkward but valid constructs, for the extract stage's differential test."""

from __future__ import annotations

import abc
import typing as t
from typing import (  # the usual suspects
    Any,
    Protocol,
    overload,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable  # only for hints

# IMPLEMENTATION REQUIRED (a module comment: owned by no function)


def plain(a, b, /, c, d=1, *args, e, f=2, **kwargs):  # IMPLEMENTATION REQUIRED
    return a


def annotated(a: int, /, b: str = "x", *, c: list[int] | None = None) -> dict[str, Any]:
    """Annotated.

    With a longer docstring.
    """
    raise NotImplementedError("annotated")


async def asynchronous(
    url: str,  # where: the URL
    *,
    timeout: float = 1.0,  # IMPLEMENTATION REQUIRED in a parameter comment
) -> bytes:
    ...


def spaced (  a , b = 1 )  ->  int  :
    pass  # Stub


def lambdas(x=lambda y: y, z={"a": 1}) -> (lambda: int):
    return x


def hashes(x="#:", y="):") -> "# not a comment":  # IMPLEMENTATION REQUIRED
    return x


def continued(a,
              b) \
        -> int:
    return a + b


def string_default(x=(
    """multi
# IMPLEMENTATION REQUIRED
line"""
)):
    return x


def unicode_名前(параметр: str = "значение") -> str:  # 注释: IMPLEMENTATION REQUIRED
    return параметр


def one_liner(): raise NotImplementedError


def semicolons(): x = 1; y = 2  # IMPLEMENTATION REQUIRED


def in_strings():
    a = "# IMPLEMENTATION REQUIRED"
    b = """
    # IMPLEMENTATION REQUIRED
    """
    return a, b


def in_compound(flag):
    if flag:
        for i in range(3):
            pass  # IMPLEMENTATION REQUIRED
    else:
        try:
            return 1
        except ValueError:
            # IMPLEMENTATION REQUIRED
            raise
    return [
        flag,  # IMPLEMENTATION REQUIRED
    ]


def with_footer():
    x = 1
        # IMPLEMENTATION REQUIRED deeper than the body
    # back at the def's level
      # between levels
    # IMPLEMENTATION REQUIRED at the body's level


def footer_ends_early():
    return 1
  # IMPLEMENTATION REQUIRED less indented than the body


def outer():
    # IMPLEMENTATION REQUIRED for outer
    @decorate  # IMPLEMENTATION REQUIRED on a decorator
    # IMPLEMENTATION REQUIRED between decorator and def
    def inner(a,  # IMPLEMENTATION REQUIRED in inner's signature
              b):
        def innermost():
            ...
            # IMPLEMENTATION REQUIRED for innermost
        # IMPLEMENTATION REQUIRED for inner
        return innermost

    class Local:
        # IMPLEMENTATION REQUIRED for Local
        def method(self): pass  # Stub

        # IMPLEMENTATION REQUIRED for Local again

    # IMPLEMENTATION REQUIRED for outer again
    return inner, Local


class Outer(abc.ABC, metaclass=abc.ABCMeta):
    """Outer's docstring."""

    @property
    @abc.abstractmethod
    def value(self) -> int: ...

    @overload
    def get(self, key: int) -> int: ...
    @t.overload
    def get(self, key: str) -> str: ...
    def get(self, key):
        raise NotImplementedError

    class Inner(
        Protocol,  # a protocol
    ):
        def method(self) -> None: ...

        class Deeper:
            async def method(self): raise NotImplementedError()

    if t.TYPE_CHECKING:
        def conditional(self): ...
    else:
        def conditional(self):
            """Only a docstring."""

    match t.Any:
        case _:
            def matched(self): ...

    def __repr__(self):
        return "Outer()"


class Other(Outer.Inner.Deeper, **{"k": 1}):
    def method(self): ...
