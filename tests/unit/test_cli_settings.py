"""A setting that does not parse stops every command with one line naming it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.settings import get_settings


def test_a_bad_setting_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEGEN_SECURITY_PROTOCOL", "SASL_TLS")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["topics", "list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "CODEGEN_SECURITY_PROTOCOL: Input should be 'PLAINTEXT'" in result.output
