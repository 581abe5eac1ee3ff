"""Before workers start, every group they use has a coordinator (a fresh broker is quiet)."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import CoordinatorNotAvailableError

from pipeline.broker.admin import _wait_for_coordinators


class FakeAdmin:
    def __init__(self, unavailable_answers: int) -> None:
        self.unavailable_answers = unavailable_answers
        self.asked: list[str] = []

    async def find_coordinator(self, group_id: str) -> int:
        self.asked.append(group_id)
        if self.unavailable_answers:
            self.unavailable_answers -= 1
            raise CoordinatorNotAvailableError(f"Unable to get coordinator id for {group_id}")
        return 1


async def test_asks_again_until_each_group_has_a_coordinator() -> None:
    admin: Any = FakeAdmin(unavailable_answers=2)
    await _wait_for_coordinators(admin, ["p.extract", "p.store"])
    assert admin.asked == ["p.extract", "p.extract", "p.extract", "p.store"]


async def test_gives_up_quietly_after_the_timeout() -> None:
    admin: Any = FakeAdmin(unavailable_answers=10**6)
    await _wait_for_coordinators(admin, ["p.extract"], timeout=0.3)
    assert 1 <= len(admin.asked) <= 3
