"""Functions without a body by design are not stubs, unless skip_bodiless is off."""

from __future__ import annotations

import pytest

from .helpers import names


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            """
            from abc import ABC, abstractmethod

            class Base(ABC):
                @abstractmethod
                def run(self): ...
            """,
            id="abstractmethod",
        ),
        pytest.param(
            """
            import abc

            class Base(abc.ABC):
                @property
                @abc.abstractmethod
                def value(self):
                    raise NotImplementedError
            """,
            id="abc.abstractmethod-under-property",
        ),
        pytest.param(
            """
            from abc import abstractmethod as am

            class Base:
                @am
                def run(self): ...
            """,
            id="aliased-abstractmethod",
        ),
        pytest.param(
            """
            import abc

            class Base:
                @abc.abstractproperty
                def a(self): ...
                @abc.abstractclassmethod
                def b(cls): ...
                @abc.abstractstaticmethod
                def c(): ...
            """,
            id="abstractproperty-and-friends",
        ),
        pytest.param(
            """
            from typing import overload

            @overload
            def parse(x: int) -> int: ...
            """,
            id="overload",
        ),
        pytest.param(
            """
            import typing as t

            class C:
                @t.overload
                def get(self, key: str) -> str: ...
            """,
            id="aliased-typing.overload",
        ),
        pytest.param(
            """
            import typing_extensions

            @typing_extensions.overload
            def parse(x: str) -> str: ...
            """,
            id="typing_extensions.overload",
        ),
        pytest.param(
            """
            from typing import Protocol

            class Reader(Protocol):
                def read(self, n: int) -> bytes: ...
                def close(self) -> None:
                    raise NotImplementedError
            """,
            id="Protocol",
        ),
        pytest.param(
            """
            import typing

            class Box(typing.Protocol[T]):
                def get(self) -> T: ...
            """,
            id="typing.Protocol-generic",
        ),
    ],
)
def test_bodiless_by_design_is_skipped(code: str) -> None:
    assert names(code) == []
    assert names(code, skip_bodiless=False) != []


def test_the_overload_implementation_is_still_a_stub() -> None:
    code = """
        from typing import overload

        @overload
        def parse(x: int) -> int: ...
        @overload
        def parse(x: str) -> str: ...
        def parse(x):
            raise NotImplementedError
        """
    assert names(code) == ["parse"]
    assert names(code, skip_bodiless=False) == ["parse", "parse", "parse"]


def test_a_class_implementing_a_protocol_is_not_a_protocol() -> None:
    code = """
        from typing import Protocol

        class Reader(Protocol):
            def read(self) -> bytes: ...

        class FileReader(Reader):
            def read(self) -> bytes: ...
        """
    assert names(code) == ["FileReader.read"]


def test_a_class_nested_in_a_protocol_is_judged_on_its_own_bases() -> None:
    code = """
        from typing import Protocol

        class Reader(Protocol):
            class Options:
                def parse(self): ...
            def read(self) -> bytes: ...
        """
    assert names(code) == ["Reader.Options.parse"]


def test_functions_nested_in_an_abstract_method_are_skipped_too() -> None:
    code = """
        from abc import abstractmethod

        class Base:
            @abstractmethod
            def run(self):
                def helper(): ...
        """
    assert names(code) == []


def test_names_are_resolved_through_imports() -> None:
    code = """
        import asyncio
        from collections import abc
        from mylib import overload

        class Echo(asyncio.Protocol):
            def data_received(self, data): ...

        class C:
            @abc.abstractmethod
            def f(self): ...

        @overload
        def g(): ...
        """
    assert names(code) == ["Echo.data_received", "C.f", "g"]


def test_names_no_import_binds_are_recognised_by_themselves() -> None:
    code = """
        from typing import *
        from abc import *

        class P(Protocol):
            def m(self): ...

        class C:
            @abstractmethod
            def f(self): ...
        """
    assert names(code) == []


def test_other_decorators_do_not_skip() -> None:
    code = """
        import functools

        class C:
            @functools.cache
            @staticmethod
            def f(): ...
        """
    assert names(code) == ["C.f"]


def test_a_pyi_file_has_no_stubs() -> None:
    code = """
        import os

        def f(x: int) -> int: ...
        class C:
            def m(self) -> None: ...
        """
    result_names = names(code, path="pkg/mod.pyi")
    assert result_names == []
    assert names(code, path="pkg/mod.pyi", skip_bodiless=False) == ["f", "C.m"]
    assert names(code, path="pkg/mod.py") == ["f", "C.m"]
