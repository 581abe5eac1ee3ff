"""The backlog hint of ``codegen status``: which stage to scale."""

from __future__ import annotations

from pipeline.broker.status import GroupStatus, Member, backlog_hint


def group(worker: str, lag: int, members: int = 1) -> GroupStatus:
    return GroupStatus(
        worker=worker,
        group=f"codegen.{worker}",
        state="Stable" if members else "Empty",
        members=[Member(client_id="c", host="h", pid=1, partitions=[])] * members,
        partitions=[],
        lag=lag,
        records_per_second=0.0,
        oldest_waiting_seconds=None,
    )


def test_a_stage_with_most_of_the_lag_gets_the_hint() -> None:
    hint = backlog_hint([group("extract", 4), group("generate", 46), group("store", 0)])
    assert hint == "generate holds 92% of the lag: start more `codegen worker generate`"


def test_no_hint_when_the_backlog_is_spread_or_small() -> None:
    assert backlog_hint([group("extract", 30), group("generate", 31), group("inject", 40)]) is None
    assert backlog_hint([group("generate", 3)]) is None


def test_a_waiting_stage_without_workers_is_named() -> None:
    hint = backlog_hint([group("extract", 2), group("verify", 3, members=0)])
    assert hint == "no worker consumes verify (3 waiting): start `codegen worker verify`"
    hint = backlog_hint([group("generate", 12, members=0)])
    assert hint == "generate holds 100% of the lag: start `codegen worker generate`"


def test_a_members_partitions_are_shown_as_ranges() -> None:
    from pipeline.cli.status_cmd import compact

    names = [f"codegen.stubs[{i}]" for i in (0, 1, 2, 5)] + ["codegen.repairs[3]"]
    assert compact(names, "codegen.") == "stubs[0-2,5] repairs[3]"
    assert compact([], "codegen.") == "-"
