"""Real modules, stubbed the way a user stubs them and filled with their own bodies through the
extract and inject stages, come back byte for byte, and extract no stub (``bench.roundtrip``,
which ``python -m bench roundtrip`` runs and reports)."""

from __future__ import annotations

import pytest

from bench.roundtrip import Case, Outcome, cases, run_case, stub_bodies, summary
from pipeline.stages.inject import splice
from pipeline.stages.inject.body import parse_body
from pipeline.stages.inject.splice import inject_spliced


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return list(cases())


@pytest.fixture(scope="module")
def outcomes(corpus: list[Case]) -> list[Outcome]:
    return [run_case(case) for case in corpus]


def test_the_corpus_is_real(corpus: list[Case]) -> None:
    stdlib = [case for case in corpus if case.label.startswith("stdlib/")]
    assert len(stdlib) >= 24
    assert len(corpus) - len(stdlib) >= 36  # the installed third-party packages
    assert sum(len(case.bodies) for case in corpus) >= 2_000
    # Every stub form is there, and properties with setters.
    stubbed = "".join(case.stubbed for case in corpus)
    assert '"""\n        # IMPLEMENTATION REQUIRED\n\n' in stubbed
    assert "# IMPLEMENTATION REQUIRED\n        raise NotImplementedError\n" in stubbed
    assert ".setter\n" in stubbed


def test_stubbed_modules_filled_with_their_bodies_come_back_byte_identical(
    outcomes: list[Outcome],
) -> None:
    result = summary(outcomes)
    part = result["all"]
    assert isinstance(part, dict)
    share = part["share"]
    assert isinstance(share, float)
    assert share >= 0.99, result["failures"]


def test_a_filled_module_extracts_none_of_its_stubs(outcomes: list[Outcome]) -> None:
    assert [o.label for o in outcomes if o.stubs_left] == []


def test_the_splice_fills_nearly_every_module_of_the_corpus(corpus: list[Case]) -> None:
    # The fast path, not the whole-module fallback, does the work on real modules.
    filled = [(case.stubbed, bodies) for case in corpus if (bodies := stub_bodies(case))]
    spliced = sum(inject_spliced(source, bodies) is not None for source, bodies in filled)
    assert len(filled) >= 60
    assert spliced / len(filled) >= 0.95, f"{spliced} of {len(filled)} modules spliced"


def test_libcst_parses_few_of_the_corpus_bodies(
    corpus: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bodies go in as they are written (``inject.as_written``), told with ast; libcst
    # parses and writes only what that does not handle. A check that gives up shows here.
    parsed: list[str] = []

    def counting_parse_body(code: str, *, qualified_name: str, newline: str) -> object:
        parsed.append(qualified_name)
        return parse_body(code, qualified_name=qualified_name, newline=newline)

    monkeypatch.setattr(splice, "parse_body", counting_parse_body)
    filled = [(case.stubbed, bodies) for case in corpus if (bodies := stub_bodies(case))]
    for source, bodies in filled:
        splice.inject_spliced(source, bodies)
    total = sum(len(bodies) for _, bodies in filled)
    assert total >= 2_000
    assert len(parsed) / total <= 0.05, f"libcst parsed {len(parsed)} of {total} bodies"
