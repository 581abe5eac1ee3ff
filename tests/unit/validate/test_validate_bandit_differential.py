"""Differential test: the bandit command line is the oracle for the security rule.

For every test id below, on a corpus of vulnerable and clean snippets plus a
few real standard-library modules, the validator must report at least the
(test id, line) pairs the bandit command line reports.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.stages.validate import Rule, ValidateOptions, validate_source

from .helpers import CORPUS

TEST_IDS = (
    "B102",
    "B105",
    "B106",
    "B107",
    "B301",
    "B307",
    "B506",
    "B602",
    "B603",
    "B604",
    "B605",
    "B606",
    "B607",
    "B608",
)
SECURITY_CORPUS = CORPUS / "security"
# standard-library modules known to trigger subprocess, pickle, shell and exec tests
STDLIB_MODULES = ("subprocess", "pickle", "shlex", "pydoc", "webbrowser", "trace", "platform")

Pairs = dict[str, set[tuple[str, int]]]


def _bandit_binary() -> str:
    found = Path(sys.executable).parent / "bandit"
    if found.exists():
        return str(found)
    which = shutil.which("bandit")
    if which is None:
        pytest.fail("the bandit command line is not installed next to the interpreter")
    return which


def _stdlib_files() -> list[Path]:
    files = []
    for name in STDLIB_MODULES:
        spec = __import__("importlib.util").util.find_spec(name)
        assert spec is not None and spec.origin is not None
        files.append(Path(spec.origin))
    return files


def _corpus_files() -> list[Path]:
    files = sorted(SECURITY_CORPUS.glob("*.py"))
    assert len(files) >= 3 * len(TEST_IDS), "the corpus has several files per test id"
    return files


def _oracle(files: list[Path]) -> Pairs:
    completed = subprocess.run(
        [
            _bandit_binary(),
            "--quiet",
            "--format",
            "json",
            "--tests",
            ",".join(TEST_IDS),
            *map(str, files),
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr.decode()
    document = json.loads(completed.stdout)
    assert document["errors"] == []
    pairs: Pairs = defaultdict(set)
    for result in document["results"]:
        pairs[str(Path(result["filename"]).resolve())].add(
            (result["test_id"], result["line_number"])
        )
    return pairs


def _ours(file: Path) -> set[tuple[str, int]]:
    source = file.read_text(encoding="utf-8")
    report = validate_source(source, ValidateOptions(rules={Rule.SECURITY}), filename=file.name)
    return {(f.code, f.line) for f in report.findings if f.code in TEST_IDS}


@pytest.fixture(scope="module")
def corpus_oracle() -> Pairs:
    return _oracle(_corpus_files())


def test_every_test_id_has_vulnerable_and_clean_snippets(corpus_oracle: Pairs) -> None:
    for test_id in TEST_IDS:
        vulnerable = sorted(SECURITY_CORPUS.glob(f"{test_id}_vuln*.py"))
        clean = sorted(SECURITY_CORPUS.glob(f"clean_{test_id}_*.py"))
        assert len(vulnerable) >= 3, test_id
        assert clean, test_id
        for file in vulnerable:
            found = corpus_oracle.get(str(file.resolve()), set())
            assert any(pair[0] == test_id for pair in found), (
                f"{file.name}: bandit finds no {test_id}"
            )


@pytest.mark.parametrize("file", _corpus_files(), ids=lambda path: path.name)
def test_validator_reports_what_bandit_reports_on_the_corpus(
    file: Path, corpus_oracle: Pairs
) -> None:
    expected = corpus_oracle.get(str(file.resolve()), set())
    ours = _ours(file)
    assert expected <= ours, f"missing {sorted(expected - ours)}"
    if file.name.startswith(("clean_", "blindspot_")):
        assert ours == set()


def test_validator_reports_what_bandit_reports_on_stdlib_modules() -> None:
    files = _stdlib_files()
    oracle = _oracle(files)
    assert sum(len(pairs) for pairs in oracle.values()) >= 10, "the oracle finds issues"
    for file in files:
        expected = oracle.get(str(file.resolve()), set())
        ours = _ours(file)
        assert expected <= ours, f"{file.name}: missing {sorted(expected - ours)}"
