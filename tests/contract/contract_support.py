"""Shared pieces of the contract tests: the spec, the Prism process, and the tool checks.

The spec is ``docs/openapi.yaml``, written by us from the API docs. Prism (pinned in
``tests/contract/prism/package.json``, installed with ``npm ci --prefix tests/contract/prism``)
mocks it; Schemathesis checks our sandbox against it. Its name is unique so that it never
collides with another helper module on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs" / "openapi.yaml"
PRISM_DIR = Path(__file__).resolve().parent / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"


@cache
def spec() -> dict[str, Any]:
    """The OpenAPI document, parsed once."""
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def schemas() -> dict[str, Any]:
    found: dict[str, Any] = spec()["components"]["schemas"]
    return found


def documented_statuses(method: str, path: str) -> set[int]:
    """The numeric response statuses the spec documents for one operation."""
    responses = spec()["paths"][path][method.lower()]["responses"]
    return {int(code) for code in responses if code.isdigit()}


def missing_tool(what: str, how: str) -> None:
    """Skip a test whose tool is not installed, except in CI, where that is a failure.

    CI sets ``CI=true``; there a missing tool must not turn the contract checks into a quiet
    skip.
    """
    message = f"{what} is not installed: {how}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def prism_server(*, seed: int = 7) -> Iterator[str]:
    """Run ``prism mock --dynamic`` on the spec on a loopback port; yield its base URL.

    Every answer is generated from the schemas (``--dynamic``), with extra unknown properties
    in open objects (``fillProperties``) so that forward compatibility is exercised too.
    ``--seed`` makes each answer reproducible; a test varies it per request with the
    ``Prefer: seed=N`` header.
    """
    if not PRISM_BIN.exists():
        missing_tool("Prism", f"run `npm ci --prefix {PRISM_DIR.relative_to(ROOT)}`")
    if shutil.which("node") is None:
        missing_tool("Node.js", "Prism needs node on PATH")
    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="ttg-prism-"))
    log_path = scratch / "prism.log"
    # Prism's own faker settings fill in every optional field; a real server leaves them out,
    # so the mock gets a copy of the spec that asks for about half of them (the option only
    # takes effect with a single json-schema-faker in node_modules: see package.json).
    mock_spec = scratch / "openapi.json"
    document = dict(spec())
    document["x-json-schema-faker"] = {
        "alwaysFakeOptionals": False,
        "optionalsProbability": 0.5,
        "fixedProbabilities": False,
    }
    mock_spec.write_text(json.dumps(document), encoding="utf-8")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(PRISM_BIN),
                "mock",
                str(mock_spec),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dynamic",
                "--seed",
                str(seed),
                "--json-schema-faker-fillProperties=true",
                "--verboseLevel",
                "warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    # Generous: Node starts slowly on a busy 2-core machine. Not a timed assertion.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")[-2000:]
            pytest.fail(f"Prism exited with {process.returncode} before serving:\n{log}")
        try:
            # Any answer (a 401 without a key) means the server is up.
            urllib.request.urlopen(base_url + "/api/v3/locations", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"Prism did not start within 90 s; see {log_path}")
