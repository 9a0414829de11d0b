"""The sandbox under hostile input (issue 17): every error in the TTG envelope, aiohttp's own
included; POSTs only as JSON; idle connections timed out and capped; a loud warning when it
is bound beyond loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import resource
import select
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from sandbox_helpers import HEADERS, Api

from ttg_async.sandbox import Sandbox
from ttg_async.sandbox._app import App
from ttg_async.sandbox._plumbing import serve_app

_JSON = {"Content-Type": "application/json"}


def assert_envelope(status: int, content_type: str, body: bytes, code: str) -> dict[str, Any]:
    """A TTG error: JSON, ``{"error": {type, code, message, param?}}`` and nothing else."""
    assert content_type.startswith("application/json"), (status, content_type, body)
    envelope = msgspec.json.decode(body)
    assert set(envelope) == {"error"}, envelope
    error: dict[str, Any] = envelope["error"]
    assert {"type", "code", "message"} <= set(error) <= {"type", "code", "message", "param"}
    assert all(isinstance(v, str) for v in error.values()), error
    assert error["type"] == ("API_ERROR" if status >= 500 else "INVALID_REQUEST_ERROR")
    assert error["code"] == code, error
    return error


async def raw_exchange(base_url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes and read the whole answer (the server closes after an error)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
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
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


# -- every error in the envelope ----------------------------------------------------------


async def test_a_body_over_the_limit_is_a_413_in_the_envelope(sb: Sandbox) -> None:
    body = io.BytesIO(b" " * (1024**2 + 1))
    async with sb.serve() as base_url, aiohttp.ClientSession() as http:
        url = base_url + "/api/v3/carts"
        async with http.post(url, data=body, headers={**HEADERS, **_JSON}) as resp:
            assert resp.status == 413
            content = await resp.read()
            assert_envelope(413, resp.headers["Content-Type"], content, "REQUEST_TOO_LARGE")
            assert resp.headers["X-Request-ID"].startswith("req_")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"GARBAGE\r\n\r\n", id="not-http"),
        pytest.param(
            b"GET /api/v3/locations HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", id="header"
        ),
        pytest.param(
            b"GET /api/v3/locations HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10_000 + b"\r\n\r\n",
            id="line-too-long",
        ),
        pytest.param(
            b"POST /api/v3/carts HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            id="content-length",
        ),
    ],
)
async def test_a_request_aiohttp_cannot_parse_is_a_400_in_the_envelope(
    sb: Sandbox, data: bytes
) -> None:
    async with sb.serve() as base_url:
        status, headers, body = await raw_exchange(base_url, data)
    assert status == 400
    assert_envelope(400, headers["content-type"], body, "MALFORMED_REQUEST")
    assert headers["x-request-id"].startswith("req_")


async def test_a_body_aiohttp_cannot_read_is_a_400_in_the_envelope(sb: Sandbox) -> None:
    # Not gzip at all: aiohttp fails to decode it while the handler reads the body.
    head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    data = (
        "POST /api/v3/carts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"{head}Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        "Content-Length: 5\r\n\r\nabcde"
    ).encode()
    async with sb.serve() as base_url:
        status, headers, body = await raw_exchange(base_url, data)
    assert status == 400
    assert_envelope(400, headers["content-type"], body, "MALFORMED_REQUEST")


async def test_a_crash_is_a_500_in_the_envelope(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(self: App, request: web.Request) -> web.Response:
        raise RuntimeError("a bug in the sandbox")

    monkeypatch.setattr(App, "locations", crash)
    # aiohttp logs the traceback (at ERROR, as it should for a bug); keep it out of the output.
    logging.getLogger("aiohttp.server").disabled = True
    try:
        async with (
            sb.serve() as base_url,
            aiohttp.ClientSession() as http,
            http.get(base_url + "/api/v3/locations", headers=HEADERS) as resp,
        ):
            body = await resp.read()
            assert resp.status == 500
            assert_envelope(500, resp.headers["Content-Type"], body, "INTERNAL_ERROR")
    finally:
        logging.getLogger("aiohttp.server").disabled = False


async def test_an_unknown_path_is_a_404_in_the_envelope(api: Api) -> None:
    reply = await api.get("/no/such/route")
    assert reply.status == 404
    assert reply.error["type"] == "NOT_FOUND_ERROR"
    assert reply.error["code"] == "UNKNOWN_ROUTE"
    assert reply.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/carts", "POST"),
        ("GET", "/carts", "POST"),
        ("PATCH", "/carts/cart_000001", "DELETE, GET"),
        ("DELETE", "/orders/ord_000001", "GET"),
        ("POST", "/locations", "GET"),
        ("HEAD", "/locations", "GET"),
    ],
)
async def test_a_wrong_method_is_a_405_with_allow(
    api: Api, method: str, path: str, allow: str
) -> None:
    reply = await api.call(method, path)
    assert reply.status == 405
    assert reply.headers["Allow"] == allow
    if method != "HEAD":  # a HEAD answer has no body
        error = assert_envelope(
            405, reply.headers["Content-Type"], reply.text.encode(), "METHOD_NOT_ALLOWED"
        )
        assert error["type"] == "INVALID_REQUEST_ERROR"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"],
)
@pytest.mark.parametrize("path", ["/carts", "/orders"])
async def test_a_post_that_is_not_json_is_a_415(
    api: Api, path: str, content_type: str | None
) -> None:
    headers: dict[str, str | None] = {"Content-Type": content_type, "Idempotency-Key": "idem_1"}
    # aiohttp's client labels a bytes body application/octet-stream unless told otherwise.
    reply = await api.call("POST", path, data=b'{"items": []}', headers=headers)
    assert reply.status == 415
    assert_envelope(
        415, reply.headers["Content-Type"], reply.text.encode(), "UNSUPPORTED_MEDIA_TYPE"
    )


async def test_json_with_a_charset_is_json(api: Api) -> None:
    headers: dict[str, str | None] = {"Content-Type": "application/json; charset=utf-8"}
    reply = await api.call("POST", "/carts", data=b'{"items": []}', headers=headers)
    assert reply.status == 400
    assert reply.error["param"] == "items"  # past the media type, into the body's own checks


async def test_the_media_type_is_checked_after_the_key(api: Api) -> None:
    headers: dict[str, str | None] = {"Content-Type": "text/plain", "X-TT-API-Key": None}
    reply = await api.call("POST", "/carts", data=b"{}", headers=headers)
    assert reply.status == 401


async def test_json_nested_1000_deep_is_a_400_in_the_envelope(api: Api) -> None:
    deep = b'{"items":' + b"[" * 1000 + b"]" * 1000 + b"}"
    headers: dict[str, str | None] = {"Content-Type": "application/json"}
    reply = await api.call("POST", "/carts", data=deep, headers=headers)
    assert reply.status == 400
    assert_envelope(400, reply.headers["Content-Type"], reply.text.encode(), "INVALID_JSON")


# -- connections: timed out when idle, capped in number ----------------------------------


@contextlib.contextmanager
def fd_headroom(needed: int) -> Iterator[None]:
    """Raise this process's soft file-descriptor limit to ``needed`` for the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    async with serve_app(Sandbox().make_app(), "127.0.0.1", 0, idle_timeout=0.3) as base_url:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        silent = await asyncio.open_connection(host, int(port))
        # Half a request line, then nothing (a slowloris).
        partial = await asyncio.open_connection(host, int(port))
        partial[1].write(b"GET /api/v3/loc")
        try:
            for reader, _ in (silent, partial):
                assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        finally:
            for _, writer in (silent, partial):
                writer.close()


def ready(socks: list[socket.socket], events: int) -> set[int]:
    """The descriptors among ``socks`` ready for ``events`` now (poll: no 1024 limit)."""
    poller = select.poll()
    for sock in socks:
        poller.register(sock, events)
    return {fd for fd, _ in poller.poll(0)}


@contextlib.asynccontextmanager
async def idle_connections(host: str, port: int, count: int) -> AsyncIterator[list[socket.socket]]:
    """``count`` TCP connections that never send a byte; all closed on exit.

    They are opened a hundred at a time, each hundred given up to 2 s to connect, as an
    attacker's loop would: a burst of 1,100 would overflow the listen queue, and the connects
    the kernel drops would only be retried seconds later.
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(0, count, 100):
            batch = []
            for _ in range(min(100, count - len(socks))):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                batch.append(sock)
                sock.setblocking(False)
                sock.connect_ex((host, port))
            deadline = time.monotonic() + 2
            while batch and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
                connected = ready(batch, select.POLLOUT)
                batch = [s for s in batch if s.fileno() not in connected]
        yield socks
    finally:
        for sock in socks:
            sock.close()


async def test_1100_idle_connections_do_not_stop_the_cli_sandbox_answering() -> None:
    # The sandbox in its own process, with the file-descriptor limit most shells give (1024):
    # before the cap, 1,100 idle connections used up its descriptors and it accepted no one.
    boot = (
        "import resource, sys\n"
        "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
        "soft = 1024 if hard == resource.RLIM_INFINITY else min(1024, hard)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))\n"
        "from ttg_async.sandbox.__main__ import main\n"
        "sys.exit(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", boot, "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert first.startswith("TTG sandbox listening on http://127.0.0.1:"), first
        base_url = first.rsplit(" ", 1)[1].strip()
        port = int(base_url.rsplit(":", 1)[1])
        with fd_headroom(1100 + 512):
            async with idle_connections("127.0.0.1", port, 1100):
                timeout = aiohttp.ClientTimeout(total=5)
                async with aiohttp.ClientSession(timeout=timeout) as http:
                    url = base_url + "/api/v3/locations"
                    async with http.get(url, headers=HEADERS) as resp:
                        assert resp.status == 200
                        assert (await resp.json())["data"]
    finally:
        proc.terminate()
        await proc.wait()


async def test_at_the_cap_an_idle_connection_makes_way_and_a_busy_one_is_kept() -> None:
    sb = Sandbox()
    sb.set_latency("POST /api/v3/carts", 1.0)  # a request in hand for a second
    async with serve_app(sb.make_app(), "127.0.0.1", 0, max_connections=4) as base_url:
        # A fresh connection per request, and a POST: aiohttp's client silently sends a GET
        # once more when its connection is cut, which would hide a cut busy connection.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def call(method: str, path: str) -> int:
                url = base_url + "/api/v3" + path
                async with http.request(method, url, headers=HEADERS, json={"items": []}) as resp:
                    await resp.read()
                    return resp.status

            busy = asyncio.ensure_future(call("POST", "/carts"))
            await asyncio.sleep(0.2)  # the slow request is in hand
            host, port = base_url.removeprefix("http://").rsplit(":", 1)
            async with idle_connections(host, int(port), 6) as socks:
                await asyncio.sleep(0.2)
                assert await asyncio.wait_for(call("GET", "/locations"), 5) == 200
                # The earliest idle ones were closed by the server to make room.
                assert len(ready(socks, select.POLLIN)) >= 3
            # Answered (400: an empty cart), not cut.
            assert await asyncio.wait_for(busy, 5) == 400
            assert [r.answered for r in sb.wire_log("POST /api/v3/carts")] == [400]


# -- beyond loopback: a loud warning ------------------------------------------------------


async def test_serving_beyond_loopback_warns_on_the_log_and_stderr(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="ttg_async.sandbox"):
        async with Sandbox().serve(host="0.0.0.0") as base_url:
            assert base_url.startswith("http://0.0.0.0:")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "test keys" in warnings[0].getMessage()
    assert "network" in warnings[0].getMessage()
    err = capsys.readouterr().err
    assert "WARNING" in err
    assert "test keys" in err
    assert "network" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
async def test_loopback_does_not_warn(
    host: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="ttg_async.sandbox"):
        try:
            async with Sandbox().serve(host=host):
                pass
        except OSError:  # no IPv6 loopback on this machine
            pytest.skip(f"cannot bind {host}")
    assert not caplog.records
    assert "WARNING" not in capsys.readouterr().err


async def test_the_cli_bound_to_every_interface_warns_on_stderr() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.sandbox",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert first.startswith("TTG sandbox listening on http://127.0.0.1:"), first
        err = (await asyncio.wait_for(proc.stderr.readline(), 5)).decode()
        assert "beyond loopback" in err
        assert "test keys" in err
        assert "network" in err
    finally:
        proc.terminate()
        await proc.wait()
