"""The Buyback sandbox itself, over plain aiohttp: envelope, auth, validation, controls."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from ttg_async.buyback.sandbox import ROUTES, BuybackSandbox

Json = dict[str, Any]


class Raw:
    """A plain-aiohttp caller of the sandbox, with one partner's token."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = ""

    async def login(self, client_id: str = "tbb_test_raw", secret: str = "secret") -> Json:
        status, body = await self.post(
            "/v1/auth/token",
            {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
            auth=False,
        )
        if status == 200:
            self.token = body["data"]["access_token"]
        body["status"] = status
        return body

    def _headers(self, auth: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if auth else {}

    async def get(self, path: str, **query: str) -> tuple[int, Json]:
        url = self.base_url + path
        async with self.http.get(url, params=query, headers=self._headers(True)) as resp:
            return resp.status, await resp.json()

    async def post(self, path: str, body: Json, *, auth: bool = True) -> tuple[int, Json]:
        url = self.base_url + path
        async with self.http.post(url, json=body, headers=self._headers(auth)) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def raw(base_url: str) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as http:
        yield Raw(http, base_url)


async def test_token_envelope_and_meta(raw: Raw, sb: BuybackSandbox) -> None:
    body = await raw.login()
    assert body["status"] == 200
    assert body["success"] is True
    data = body["data"]
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["expires_at"].endswith("Z")
    assert set(body["meta"]) == {"request_id", "timestamp"}
    assert sb.token_requests("tbb_test_raw") == 1


@pytest.mark.parametrize(
    ("client_id", "secret", "grant", "status", "code"),
    [
        ("tbb_test_raw", "wrong", "client_credentials", 401, "INVALID_CREDENTIALS"),
        ("someone_else", "secret", "client_credentials", 401, "INVALID_CREDENTIALS"),
        ("tbb_test_raw", "secret", "password", 400, "UNSUPPORTED_GRANT_TYPE"),
        ("", "secret", "client_credentials", 400, "VALIDATION_ERROR"),
        ("tbb_test_suspended_1", "secret", "client_credentials", 403, "ACCOUNT_SUSPENDED"),
    ],
)
async def test_token_errors(
    raw: Raw, client_id: str, secret: str, grant: str, status: int, code: str
) -> None:
    got, body = await raw.post(
        "/v1/auth/token",
        {"client_id": client_id, "client_secret": secret, "grant_type": grant},
        auth=False,
    )
    assert got == status
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["meta"]["request_id"]


async def test_calls_need_a_valid_token(raw: Raw, sb: BuybackSandbox) -> None:
    status, body = await raw.get("/v1/events")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")
    await raw.login()
    assert (await raw.get("/v1/events"))[0] == 200
    sb.advance(3600)
    status, body = await raw.get("/v1/events")
    assert (status, body["error"]["code"]) == (401, "TOKEN_EXPIRED")
    await raw.login()
    assert sb.revoke_tokens() >= 1
    status, body = await raw.get("/v1/events")
    assert (status, body["error"]["code"]) == (401, "UNAUTHORIZED")


async def test_token_lifetime_is_configurable(raw: Raw, sb: BuybackSandbox) -> None:
    # The clock stands still but for advance(): the margins below are exact on any machine.
    sb.freeze_clock()
    sb.token_lifetime = 2.5
    body = await raw.login()
    assert body["data"]["expires_in"] == 2.5
    sb.advance(2.4)
    assert (await raw.get("/v1/events"))[0] == 200
    sb.advance(0.2)
    assert (await raw.get("/v1/events"))[1]["error"]["code"] == "TOKEN_EXPIRED"


async def test_suspending_blocks_existing_tokens(raw: Raw, sb: BuybackSandbox) -> None:
    await raw.login("tbb_test_later")
    sb.suspend("tbb_test_later")
    status, body = await raw.get("/v1/events")
    assert (status, body["error"]["code"]) == (403, "ACCOUNT_SUSPENDED")
    sb.suspend("tbb_test_later", suspended=False)
    assert (await raw.get("/v1/events"))[0] == 200


async def test_events_pagination_object(raw: Raw) -> None:
    await raw.login()
    status, body = await raw.get("/v1/events", limit="10", offset="20")
    assert status == 200
    assert body["pagination"] == {"total": 24, "limit": 10, "offset": 20, "has_more": False}
    assert len(body["data"]) == 4
    status, body = await raw.get("/v1/events", limit="10")
    assert body["pagination"]["has_more"] is True


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "101"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"date_from": "2030-13-01"}, "date_from"),
        ({"date_from": "2030-02-01", "date_to": "2030-01-01"}, "date_to"),
        ({"q": " "}, "q"),
    ],
)
async def test_events_validation(raw: Raw, query: dict[str, str], field: str) -> None:
    await raw.login()
    status, body = await raw.get("/v1/events", **query)
    assert status == 400
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["details"]["field"] == field


async def test_section_names_with_reserved_characters_round_trip(
    raw: Raw, sb: BuybackSandbox
) -> None:
    await raw.login()
    seen = set()
    for event_id in sb.event_ids():
        for name in sb.section_names(event_id):
            status, body = await raw.get(
                f"/v1/events/{event_id}/sections/{quote(name, safe='')}/rows"
            )
            assert status == 200, (event_id, name, body)
            seen.add(name)
    assert {"Club & Suites", "Box #5"} <= seen
    unquoted = await raw.get(f"/v1/events/{sb.event_ids()[0]}/sections/Box #5/rows")
    assert unquoted[0] == 404  # what a client that forgets to quote would get


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"section_name": "Balcony", "quantity": 1}, "event_id"),
        ({"event_id": "evt_1001", "quantity": 1}, "section_name"),
        ({"event_id": "evt_1001", "section_name": "Balcony", "quantity": 0}, "quantity"),
        ({"event_id": "evt_1001", "section_name": "Balcony", "quantity": "2"}, "quantity"),
        ({"event_id": "evt_1001", "section_name": "Balcony", "quantity": 9}, "quantity"),
    ],
)
async def test_quote_validation(raw: Raw, body: Json, field: str) -> None:
    await raw.login()
    status, answer = await raw.post("/v1/quotes", body)
    assert status == 400
    assert answer["error"]["details"]["field"] == field


async def test_order_validation(raw: Raw, sb: BuybackSandbox) -> None:
    await raw.login()
    event_id = sb.event_ids()[0]
    _, quote_body = await raw.post(
        "/v1/quotes",
        {"event_id": event_id, "section_name": sb.section_names(event_id)[0], "quantity": 1},
    )
    quote_id = quote_body["data"]["quote_id"]
    before = sb.event_start(event_id).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = "2099-01-01T00:00:00Z"  # after the event
    cases = [
        ({"delivery_type": "fax", "delivery_deadline": before}, "delivery_type"),
        ({"delivery_type": "pdf", "delivery_deadline": "tomorrow"}, "delivery_deadline"),
        ({"delivery_type": "pdf", "delivery_deadline": before[:-1]}, "delivery_deadline"),
        (
            {"delivery_type": "pdf", "delivery_deadline": late},
            "delivery_deadline",
        ),
    ]
    for extra, field in cases:
        status, answer = await raw.post("/v1/orders", {"quote_id": quote_id, **extra})
        assert (status, answer["error"]["details"]["field"]) == (400, field), extra
    assert sb.orders_for_quote(quote_id) == []


async def test_fault_injection_is_the_ttg_sandboxs(raw: Raw, sb: BuybackSandbox) -> None:
    await raw.login()
    fault = sb.inject("GET /v1/events", "status", status=429, retry_after=2, times=1)
    status, body = await raw.get("/v1/events")
    assert status == 429
    assert body["error"]["code"] == "RATE_LIMITED"
    assert fault.hits == 1
    assert (await raw.get("/v1/events"))[0] == 200
    assert sb.request_count("GET /v1/events") == 2
    with pytest.raises(ValueError, match="unknown route"):
        sb.inject("GET /v1/nowhere", "status")
    assert "POST /v1/orders" in ROUTES


async def test_cli_serves_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.buyback.sandbox",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert "listening on http://127.0.0.1:" in line
        base_url = line.rsplit(" ", 1)[1].strip()
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                base_url + "/v1/auth/token",
                json={
                    "client_id": "tbb_test_cli",
                    "client_secret": "secret",
                    "grant_type": "client_credentials",
                },
            ) as resp,
        ):
            assert resp.status == 200
    finally:
        proc.terminate()
        await proc.wait()


async def test_cli_refuses_a_bad_option() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ttg_async.buyback.sandbox",
        "--token-lifetime",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        "error: token_lifetime must be a positive number of seconds, got 0.0"
    ]


async def test_a_frozen_clock_moves_only_by_advance(sb: BuybackSandbox) -> None:
    sb.freeze_clock()
    before = sb.now()
    await asyncio.sleep(0.05)
    assert sb.now() == before
    sb.advance(10)
    assert (sb.now() - before).total_seconds() == pytest.approx(10)
    sb.freeze_clock(False)
    assert (sb.now() - before).total_seconds() == pytest.approx(10, abs=0.5)  # no jump
