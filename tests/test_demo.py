"""``ttg demo`` reads well: venue-time dates, a hold countdown, item names, the held item in
the inventory table, cart lines with quantity and unit price, the order's total and
confirmation number, JPY and KWD through ``--location``, and 80 columns."""

from __future__ import annotations

import re
import sys

import pytest

from ttg_async._cli import main

WIRE_NAMES = ("AssignedSeat", "GeneralAdmission", "UnknownVariant", "InventoryItem")


def _demo(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["demo", "--seed", "0", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_default_demo_reads_well_at_80_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _demo([], capsys, monkeypatch)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    # The venue's own time, readably: New York's first show, in EST.
    assert "Last Waltz Tour at Crown Dome, New York" in text
    assert re.search(r"\n\w{3} \d\d \w{3} 2\d{3}, \d\d:\d\d E[SD]T \(venue time\)", text)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)  # no ISO timestamps for people
    # Item names, never wire type names.
    assert "Lower Tier, row A, seat 101" in text
    assert not any(name in text for name in WIRE_NAMES)
    # The held item is in the inventory table, marked.
    held_rows = [line for line in lines if "▶" in line and "│" in line]
    assert len(held_rows) == 1
    assert "General Admission Floor" in held_rows[0]
    # The countdown to the hold's expiry, and the expiry in venue time.
    assert re.search(r"the hold expires in \d+:\d\d minutes, at \d\d:\d\d:\d\d E[SD]T", text)
    # Cart lines: item, quantity, unit price, amount.
    cart_line = next(
        line for line in lines if "General Admission Floor" in line and "│   2" in line
    )
    assert re.search(r"│\s+2 │\s+\$49\.50 │\s+\$99\.00 │", cart_line)
    # The order's total and confirmation number.
    assert re.search(r"Order CONFIRMED: confirmation TTG-\d+, total \$101\.50", text)


def test_location_shows_yen_without_decimals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _demo(["--location", "3"], capsys, monkeypatch)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert ", Tokyo\n" in text
    assert "JST (venue time)" in text
    assert re.search(r"¥\d{1,3}(,\d{3})*\b(?!\.)", text)
    assert not re.search(r"¥[\d,]+\.\d", text)  # yen have no minor unit


def test_location_shows_dinars_with_three_decimals(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _demo(["--location", "4"], capsys, monkeypatch)
    text = "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    assert ", Kuwait City\n" in text
    assert re.search(r"KWD\d+\.\d{3}\b", text)
    assert not re.search(r"KWD\d+\.\d\d\b(?!\d)", text)


def test_an_unknown_location_is_a_clear_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["demo", "--location", "99"]) == 1
    out = capsys.readouterr().out
    assert "No location '99'; try one of: 1, 2, 3, 4" in out


def test_without_rich_the_demo_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a machine where only the library was installed: `import rich` fails.
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.delitem(sys.modules, "ttg_async._demo", raising=False)
    assert main(["demo"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "ttg demo needs the cli extra: python -m pip install 'ttg_async[cli]'\n"
    )
    assert captured.out == ""
