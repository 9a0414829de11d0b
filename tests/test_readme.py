"""The README stays true: its commands exist and its quickstart runs against the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest

from ttg_async.sandbox import Sandbox

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_names_the_three_setup_commands() -> None:
    text = README.read_text()
    assert "python -m pip install -e '.[cli]' && python -m ttg_async demo" in text
    assert "python -m pip install -e '.[test]' && python -m pytest" in text
    assert "python -m pip install -e '.[docs]' && python -m mkdocs build --strict" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "\npython -m pytest\n" in ci  # CI runs exactly the README's test command
    assert "\npython -m ttg_async demo " in ci  # ... and the README's main job
    assert "\npython -m mkdocs build --strict " in ci  # ... and builds the site strictly,
    assert "--quiet" not in ci.split("mkdocs build", 1)[1].split("\n", 1)[0]  # loudly


def test_ci_sees_what_a_new_machine_sees() -> None:
    """CI installs into a new virtual environment, with a fresh resolve, on every run."""
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'python -m venv "$tmp/venv"' in ci
    assert 'source "$tmp/venv/bin/activate"' in ci
    assert "python -m pip install --quiet --disable-pip-version-check -e '.[test,docs,cli]'" in ci
    assert ci.index("activate") < ci.index("-e '.[test,docs,cli]'") < ci.index("-m pytest")
    assert "unset PYTHONPATH" in ci


def test_readme_says_what_the_skipped_contract_tests_need() -> None:
    text = README.read_text()
    assert "npm ci --prefix tests/contract/prism" in text
    assert "Node.js" in text


async def test_quickstart_runs_against_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    async with Sandbox(seed=0).serve() as base_url:
        monkeypatch.setenv("TTG_BASE_URL", base_url)
        out = io.StringIO()

        def run() -> None:
            # The quickstart calls asyncio.run itself, so it gets a thread (and a loop) of its own.
            with contextlib.redirect_stdout(out):
                exec(compile(code.group(1), "README.md", "exec"), {"__name__": "quickstart"})

        await asyncio.to_thread(run)
    printed = out.getvalue().splitlines()
    assert printed, "the quickstart printed no receipt"
    assert printed[0].startswith("Subtotal")
