"""The Buyback sandbox answers every refusal in its envelope: deep nesting, oversized and
unparsable bodies, the wrong Content-Type, the wrong method; and its command line prints a
URL its own client accepts, warning loudly when it listens beyond loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest
from buyback_helpers import START

from ttg_async.buyback import BuybackClient
from ttg_async.buyback.sandbox import BuybackSandbox
from ttg_async.buyback.sandbox._cli import banner, client_url

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"quote_id": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}"


class Raw:
    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = ""

    async def login(self) -> None:
        body = {"client_id": "tbb_test_raw", "client_secret": "secret"}
        body["grant_type"] = "client_credentials"
        async with self.http.post(self.base_url + "/v1/auth/token", json=body) as resp:
            self.token = (await resp.json())["data"]["access_token"]

    async def send(
        self, method: str, path: str, data: Any = None, content_type: str | None = None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        url = self.base_url + path
        async with self.http.request(method, url, data=data, headers=headers) as resp:
            assert resp.content_type == "application/json", await resp.text()
            body = await resp.json()
            return resp.status, dict(resp.headers), body


def _envelope(body: Any, code: str) -> None:
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["meta"]["request_id"]


@pytest.fixture(params=["routable", "payout"])
async def raw(request: pytest.FixtureRequest) -> AsyncIterator[Raw]:
    sb = BuybackSandbox(start_date=START, docs_version=request.param)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        caller = Raw(http, url)
        await caller.login()
        yield caller


@pytest.mark.parametrize("path", ["/v1/auth/token", "/v1/quotes", "/v1/orders"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
async def test_deep_nesting_is_a_json_400(raw: Raw, path: str, body: bytes) -> None:
    status, _, answer = await raw.send("POST", path, body, "application/json")
    if status == 415:  # a payout order takes multipart only
        _envelope(answer, "UNSUPPORTED_MEDIA_TYPE")
        return
    assert status == 400
    _envelope(answer, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", ["/v1/auth/token", "/v1/quotes"])
async def test_an_oversized_body_is_a_json_413(raw: Raw, path: str) -> None:
    big = io.BytesIO(b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    status, _, answer = await raw.send("POST", path, big, "application/json")
    assert status == 413
    _envelope(answer, "PAYLOAD_TOO_LARGE")


async def test_an_oversized_multipart_order_is_a_json_413() -> None:
    sb = BuybackSandbox(start_date=START, docs_version="payout")
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        caller = Raw(http, url)
        await caller.login()
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("quote_id", "qt_1")
        big = io.BytesIO(b"%PDF-" + b"\0" * (11 * 1024 * 1024))
        form.add_field("file", big, filename="big.pdf")
        status, _, answer = await caller.send("POST", "/v1/orders", form)
    assert status == 413
    _envelope(answer, "PAYLOAD_TOO_LARGE")
    assert sb.orders() == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"client_id": ', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
    ],
)
async def test_a_body_that_does_not_parse_is_a_json_400(
    raw: Raw, body: bytes, content_type: str
) -> None:
    for path in ("/v1/auth/token", "/v1/quotes"):
        status, _, answer = await raw.send("POST", path, body, content_type)
        assert status == 400
        _envelope(answer, "VALIDATION_ERROR")


async def test_a_broken_multipart_order_is_a_json_400() -> None:
    sb = BuybackSandbox(start_date=START, docs_version="payout")
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        caller = Raw(http, url)
        await caller.login()
        for body in (b"no boundary in sight", b"--b\r\nbroken"):
            status, _, answer = await caller.send(
                "POST", "/v1/orders", body, "multipart/form-data; boundary=b"
            )
            assert status == 400, answer
            _envelope(answer, "VALIDATION_ERROR")
        status, _, answer = await caller.send(
            "POST", "/v1/orders", b"--x\r\n", "multipart/form-data"
        )
        assert status == 400
        _envelope(answer, "VALIDATION_ERROR")
    assert sb.orders() == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/auth/token", "text/plain"),
        ("/v1/quotes", "application/x-www-form-urlencoded"),
        ("/v1/quotes", None),
    ],
)
async def test_the_wrong_content_type_is_a_json_415(
    raw: Raw, path: str, content_type: str | None
) -> None:
    status, _, answer = await raw.send("POST", path, b'{"a": 1}', content_type)
    assert status == 415
    _envelope(answer, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("version", "content_type"),
    [("payout", "application/json"), ("routable", "multipart/form-data; boundary=b")],
)
async def test_an_order_in_the_other_versions_form_is_a_json_415(
    version: str, content_type: str
) -> None:
    sb = BuybackSandbox(start_date=START, docs_version=version)
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        caller = Raw(http, url)
        await caller.login()
        status, _, answer = await caller.send("POST", "/v1/orders", b"{}", content_type)
    assert status == 415
    _envelope(answer, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/quotes", "POST"),
        ("DELETE", "/v1/orders", "POST"),
        ("GET", "/v1/auth/token", "POST"),
        ("POST", "/v1/events", "GET"),
        ("PUT", "/v1/events/evt_1001", "GET"),
        ("DELETE", "/v1/events/evt_1001/sections", "GET"),
    ],
)
async def test_the_wrong_method_is_a_json_405_with_allow(
    raw: Raw, method: str, path: str, allow: str
) -> None:
    status, headers, answer = await raw.send(method, path)
    assert status == 405
    assert headers["Allow"] == allow
    _envelope(answer, "METHOD_NOT_ALLOWED")


async def test_an_unknown_path_is_still_a_json_404(raw: Raw) -> None:
    status, _, answer = await raw.send("GET", "/v1/nothing-here")
    assert status == 404
    _envelope(answer, "NOT_FOUND")


# -- the command line's banner ----------------------------------------------------------
def _exported_url(lines: list[str]) -> str:
    found = [m.group(1) for line in lines if (m := re.search(r"TBB_BASE_URL=(\S+)", line))]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(
    ("host", "served", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8766/partner", "http://127.0.0.1:8766/partner"),
        ("localhost", "http://localhost:8766/partner", "http://localhost:8766/partner"),
        ("::1", "http://[::1]:8766/partner", "http://[::1]:8766/partner"),
        ("0.0.0.0", "http://0.0.0.0:8766/partner", "http://127.0.0.1:8766/partner"),
        ("::", "http://[::]:8766/partner", "http://[::1]:8766/partner"),
    ],
)
def test_the_banner_url_is_one_the_client_accepts(host: str, served: str, expected: str) -> None:
    lines = banner(served, host)
    url = _exported_url(lines)
    assert url == expected == client_url(served, host)
    client = BuybackClient("tbb_test_banner", "secret", base_url=url)  # no ConfigurationError
    assert client.base_url == url
    warned = [line for line in lines if line.startswith("WARNING")]
    if host in ("0.0.0.0", "::"):
        assert any("beyond loopback" in line for line in warned)
        assert any("tbb_test_" in line for line in warned)
    else:
        assert warned == []


def test_a_specific_network_address_is_warned_about() -> None:
    lines = banner("http://192.0.2.10:8766/partner", "192.0.2.10")
    warned = [line for line in lines if line.startswith("WARNING")]
    assert any("beyond loopback" in line for line in warned)
    assert any("https://" in line for line in warned)


@contextlib.asynccontextmanager
async def _cli(*args: str) -> AsyncIterator[tuple[list[str], list[bytes]]]:
    """Run ``python -m ttg_async.buyback.sandbox --port 0 ...`` until its banner is out; on
    exit, stop it with Ctrl-C and fill in what it wrote to stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.buyback.sandbox",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    out: list[str] = []
    err: list[bytes] = []
    try:
        while not out or not out[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, "the sandbox exited before its banner was complete"
            out.append(line.decode().rstrip())
        yield out, err
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        err.append(stderr)


async def _works(url: str) -> None:
    async with BuybackClient("tbb_test_cli", "secret", base_url=url) as tbb:
        assert (await tbb.events.get("evt_1001")).event_id == "evt_1001"


async def test_the_cli_prints_a_url_that_works() -> None:
    async with _cli("--docs-version", "payout") as (out, err):
        assert any("payout" in line for line in out)
        url = _exported_url(out)
        assert url.startswith("http://127.0.0.1:")
        await _works(url)
    assert b"WARNING" not in err[0]


async def test_the_cli_warns_when_bound_beyond_loopback() -> None:
    async with _cli("--host", "0.0.0.0") as (out, err):
        url = _exported_url(out)
        assert url.startswith("http://127.0.0.1:")
        await _works(url)
    assert b"WARNING: the sandbox listens beyond loopback" in err[0]
    assert b"tbb_test_" in err[0]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"GARBAGE\r\n\r\n", id="not-http"),
        pytest.param(
            b"GET /partner/v1/events HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", id="header"
        ),
    ],
)
async def test_a_request_aiohttp_cannot_parse_is_answered_in_the_buyback_envelope(
    data: bytes,
) -> None:
    """aiohttp answers these itself, before any handler: the sandbox still speaks its API."""
    sandbox = BuybackSandbox(seed=0, start_date=START)
    async with sandbox.serve() as base_url:
        host, port = base_url.removeprefix("http://").removesuffix("/partner").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(data)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"400"
    assert b"application/json" in head.lower()
    document = msgspec.json.decode(body)
    assert document["success"] is False
    assert document["error"]["code"] == "VALIDATION_ERROR"
    assert document["meta"]["request_id"]
