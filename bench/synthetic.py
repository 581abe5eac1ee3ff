"""Synthetic stubbed modules of a chosen size, for how the stages scale.

A library skeleton with its method bodies stubbed out: ``classes`` of ``METHODS_PER_CLASS``
methods each (a docstring, a signature with annotations, a stub marker), a few module-level
imports and constants. The generated body of each stub is a short realistic one (a loop, a
conditional, a call) that the validate rules accept.
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS_PER_CLASS = 20
MEBIBYTE = 1 << 20

_HEADER = '''"""A generated library skeleton."""

from __future__ import annotations

import os
from collections.abc import Iterable

LIMIT = 100

'''

_MARKERS = (
    "        raise NotImplementedError\n",
    "        # IMPLEMENTATION REQUIRED\n        pass\n",
)


@dataclass(frozen=True)
class SyntheticModule:
    """A stubbed module and, per stub, the body that fills it."""

    name: str
    source: str
    bodies: dict[str, str]

    @property
    def lines(self) -> int:
        return self.source.count("\n")


def _method(class_number: int, number: int) -> tuple[str, str]:
    name = f"method_{number}"
    stub = (
        f"    def {name}(self, items: Iterable[int], limit: int = LIMIT) -> int:\n"
        f'        """Sum the items of class {class_number} below the limit ({number})."""\n'
        f"{_MARKERS[number % len(_MARKERS)]}"
    )
    body = (
        "        total = 0\n"
        "        for item in items:\n"
        f"            if item < limit and item != {number}:\n"
        "                total += item\n"
        "        return total + len(os.sep)\n"
    )
    return stub, body


def synthetic_module(stubs: int) -> SyntheticModule:
    """A module with ``stubs`` stubbed methods, ``METHODS_PER_CLASS`` to a class."""
    pieces = [_HEADER]
    bodies: dict[str, str] = {}
    for number in range(stubs):
        class_number, method = divmod(number, METHODS_PER_CLASS)
        if method == 0:
            pieces.append(f"\nclass Component{class_number}:\n")
            pieces.append(f'    """Component number {class_number}."""\n\n')
        stub, body = _method(class_number, method)
        pieces.append(stub + "\n")
        bodies[f"Component{class_number}.method_{method}"] = body
    return SyntheticModule(f"synthetic_{stubs}.py", "".join(pieces), bodies)


def synthetic_module_of_size(size: int = MEBIBYTE) -> SyntheticModule:
    """The smallest synthetic module of at least ``size`` bytes."""
    per_stub = len(synthetic_module(METHODS_PER_CLASS).source) / METHODS_PER_CLASS
    stubs = max(1, int(size / per_stub))
    module = synthetic_module(stubs)
    while len(module.source.encode()) < size:
        stubs += METHODS_PER_CLASS
        module = synthetic_module(stubs)
    return module
