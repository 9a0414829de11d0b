"""Every Python block in README.md and docs/ runs against the sandbox, or says why not.

The rules (docs/writing-docs.md tells maintainers the same):

- A fenced block whose info string is ``python`` is run. Other languages (``console``,
  ``bash``, ``toml``, ``text``) are not.
- The blocks of one page run in order in one namespace, like a notebook, so a later block may
  use what an earlier one defined. Top-level ``await`` is allowed.
- Each page gets a fresh ``Sandbox(seed=0)`` on loopback, and these names ready to use:
  ``ttg`` (an open ``TTGClient`` on that sandbox) and ``sandbox`` (the ``Sandbox``). The
  environment points at it too (``TTG_BASE_URL``, ``TTG_API_KEY``, ``TTG_RETAILER``), so a
  block that builds its own ``TTGClient()`` or calls ``asyncio.run`` reaches it as well.
- ``<!-- docs-test: skip REASON -->`` on the line right before a block leaves it out; the
  reason is required.
- ``<!-- docs-test: pytest -->`` marks a block that is a whole pytest module (a fixture and
  its tests, for example). It is written to a temporary folder and run by pytest in a
  subprocess with pytest-asyncio in its default (strict) mode, exactly as a reader who copies
  it into a fresh project would run it. The project's ``pyproject.toml`` is the page's
  ``toml`` block that holds ``[tool.pytest.ini_options]`` (the setting the page tells the
  reader to add), or none when the page has no such block.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ttg_async import TTGClient
from ttg_async.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

KEY = "sk_test_docs0000000000000000"
RETAILER = "docs-retailer"

_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```\s*$", re.M | re.S
)
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[a-z-]+)\s*(?P<reason>.*?)\s*-->")


@dataclass
class Block:
    page: Path
    line: int
    code: str
    mode: str  # "run", "skip" or "pytest"
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for fence in _FENCE.finditer(text):
        if fence.group("info").strip().split(" ")[0] != "python":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        before = text[: fence.start()].rstrip().rsplit("\n", 1)[-1]
        marker = _MARKER.search(before)
        code = "\n".join(
            row[len(fence.group("indent")) :] for row in fence.group("body").splitlines()
        )
        if marker is None:
            found.append(Block(page, line, code, "run"))
            continue
        kind, reason = marker.group("kind"), marker.group("reason")
        if kind not in ("skip", "pytest"):
            raise AssertionError(f"{page.name}:{line}: unknown docs-test marker {kind!r}")
        if kind == "skip" and not reason:
            raise AssertionError(f"{page.name}:{line}: a skipped block must say why")
        found.append(Block(page, line, code, kind, reason))
    return found


@contextlib.contextmanager
def sandbox_in_background(sandbox: Sandbox) -> Iterator[str]:
    """Serve ``sandbox`` from a thread of its own, so any event loop (or none) can call it."""
    started = threading.Event()
    box: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            async with sandbox.serve() as base_url:
                box["url"] = base_url
                box["stop"] = stop = asyncio.Event()
                box["loop"] = asyncio.get_running_loop()
                started.set()
                await stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:  # pragma: no cover - reported by the caller
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=serve, name="docs-sandbox", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in box or "url" not in box:
        raise RuntimeError(f"the sandbox did not start: {box.get('error')!r}")
    try:
        yield box["url"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def run_page(blocks: list[Block], base_url: str, sandbox: Sandbox) -> str:
    """Run a page's blocks in one namespace on a loop of their own; return what they printed."""
    loop = asyncio.new_event_loop()
    out = io.StringIO()
    try:
        ttg = TTGClient(KEY, RETAILER, base_url=base_url)
        namespace: dict[str, Any] = {"__name__": "__docs__", "ttg": ttg, "sandbox": sandbox}
        for block in blocks:
            code = compile(
                block.code,
                block.where,
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,
            )
            try:
                with contextlib.redirect_stdout(out):
                    if code.co_flags & inspect.CO_COROUTINE:
                        loop.run_until_complete(eval(code, namespace))
                    else:
                        exec(code, namespace)
            except Exception as exc:
                raise AssertionError(
                    f"{block.where}: the block raised {type(exc).__name__}: {exc}"
                ) from exc
        loop.run_until_complete(ttg.aclose())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return out.getvalue()


RUNNABLE = [page for page in PAGES if any(b.mode == "run" for b in blocks_of(page))]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run_against_the_sandbox(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in blocks_of(page) if b.mode == "run"]
    sandbox = Sandbox(seed=0)
    with sandbox_in_background(sandbox) as base_url:
        monkeypatch.setenv("TTG_BASE_URL", base_url)
        monkeypatch.setenv("TTG_API_KEY", KEY)
        monkeypatch.setenv("TTG_RETAILER", RETAILER)
        monkeypatch.delenv("TTG_PLATFORM", raising=False)
        run_page(blocks, base_url, sandbox)


PYTEST_BLOCKS = [b for page in PAGES for b in blocks_of(page) if b.mode == "pytest"]


def pytest_settings_of(page: Path) -> str | None:
    """The page's ``toml`` block that holds ``[tool.pytest.ini_options]``, if any."""
    for fence in _FENCE.finditer(page.read_text()):
        info = fence.group("info").strip().split(" ")[0]
        if info == "toml" and "[tool.pytest.ini_options]" in fence.group("body"):
            return fence.group("body")
    return None


@pytest.mark.parametrize("block", PYTEST_BLOCKS, ids=lambda b: b.where)
def test_pytest_blocks_pass_when_copied_into_a_fresh_project(block: Block, tmp_path: Path) -> None:
    (tmp_path / "test_copied.py").write_text(block.code)
    settings = pytest_settings_of(block.page)
    config = tmp_path / "pyproject.toml"
    config.write_text(settings if settings is not None else "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TTG_", "PYTEST_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "--rootdir",
            str(tmp_path),
            "-c",
            str(config),
            str(tmp_path / "test_copied.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{block.where}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    assert " passed" in done.stdout


def test_every_python_block_is_run_or_marked_with_a_reason() -> None:
    blocks = [b for page in PAGES for b in blocks_of(page)]
    assert any(b.page.name == "README.md" for b in blocks)
    for block in blocks:
        assert block.mode in ("run", "pytest") or block.reason, block.where


def test_the_marker_parser_sees_skips_and_reasons(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip needs a live key -->\n"
        "```python\nraise SystemExit\n```\n\n```console\n$ ttg demo\n```\n"
    )
    blocks = blocks_of(page)
    assert [(b.mode, b.reason, b.code) for b in blocks] == [
        ("run", "", "x = 1"),
        ("skip", "needs a live key", "raise SystemExit"),
    ]
    page.write_text("<!-- docs-test: skip -->\n```python\nx = 1\n```\n")
    with pytest.raises(AssertionError, match="must say why"):
        blocks_of(page)
