"""The `ttg` command: the demo runs the whole purchase flow against the embedded sandbox."""

from __future__ import annotations

import pytest

from ttg_async._cli import main


def test_demo_buys_tickets_and_prints_the_receipt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no line wrapping by rich
    assert main(["demo", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "Embedded sandbox at http://127.0.0.1:" in out
    assert "the hold expires in" in out
    assert "Receipt" in out
    assert "Total" in out
    assert "CONFIRMED" in out
    assert "QR_CODE" in out or "delayed delivery" in out


def test_help_lists_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out
    assert "sandbox" in out
