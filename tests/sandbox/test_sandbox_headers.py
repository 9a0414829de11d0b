"""Authentication, required headers, request IDs, unknown routes and bad bodies."""

from __future__ import annotations

import re

import aiohttp
import pytest
from sandbox_helpers import Api

from ttg_async.sandbox import RetailerConfig, Sandbox


async def test_success_envelope_and_request_id_echo(api: Api) -> None:
    reply = await api.get("/locations", headers={"X-Request-ID": "req_abc123xyz"})
    assert reply.status == 200
    assert set(reply.body) == {"data", "pagination"}
    assert reply.headers["X-Request-ID"] == "req_abc123xyz"


async def test_request_id_generated_when_absent(api: Api) -> None:
    reply = await api.get("/locations")
    assert re.fullmatch(r"req_[0-9a-f]{16}", reply.headers["X-Request-ID"])


async def test_request_id_in_another_shape_is_still_echoed(api: Api) -> None:
    reply = await api.get("/locations", headers={"X-Request-ID": "trace-42"})
    assert reply.status == 200
    assert reply.headers["X-Request-ID"] == "trace-42"


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (None, "missing"),
        ("sk_live_abc", "Live keys"),
        ("pk_test_abc", "not valid"),
        ("sk_test_", ""),
    ],
)
async def test_bad_or_missing_key_is_401(api: Api, key: str | None, fragment: str) -> None:
    reply = await api.get("/locations", headers={"X-TT-API-Key": key})
    assert reply.status == 401
    assert reply.error["type"] == "AUTHENTICATION_ERROR"
    assert reply.error["code"] == "INVALID_API_KEY"
    assert fragment in reply.error["message"]
    assert reply.headers["X-Request-ID"].startswith("req_")


async def test_any_test_key_is_accepted(api: Api) -> None:
    reply = await api.get("/locations", headers={"X-TT-API-Key": "sk_test_anything_at_all"})
    assert reply.status == 200


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("X-TT-Retailer", None, "MISSING_HEADER"),
        ("X-TT-Platform", None, "MISSING_HEADER"),
        ("X-TT-Platform", "windows", "INVALID_HEADER"),
        ("X-TT-Platform", "API", "INVALID_HEADER"),
    ],
)
async def test_missing_or_bad_header_is_400(
    api: Api, header: str, value: str | None, code: str
) -> None:
    reply = await api.get("/locations", headers={header: value})
    assert reply.status == 400
    assert reply.error == {
        "type": "INVALID_REQUEST_ERROR",
        "code": code,
        "message": reply.error["message"],
        "param": header,
    }


@pytest.mark.parametrize("platform", ["ios", "android", "web", "api"])
async def test_every_documented_platform_is_accepted(api: Api, platform: str) -> None:
    assert (await api.get("/locations", headers={"X-TT-Platform": platform})).status == 200


async def test_key_is_checked_before_other_headers(api: Api) -> None:
    reply = await api.get("/locations", headers={"X-TT-API-Key": None, "X-TT-Platform": None})
    assert reply.status == 401


async def test_configured_retailers_reject_strangers_with_403() -> None:
    sb = Sandbox(retailers={"retailer-a": RetailerConfig()})
    async with sb.serve() as url, aiohttp.ClientSession() as http:
        api = Api(http, url)
        assert (await api.get("/locations")).status == 200
        reply = await api.get("/locations", headers={"X-TT-Retailer": "stranger"})
        assert reply.status == 403
        assert reply.error["type"] == "PERMISSION_ERROR"
        assert reply.error["code"] == "INSUFFICIENT_PERMISSIONS"
        assert reply.error["param"] == "X-TT-Retailer"


async def test_unknown_route_and_method_give_json_errors(api: Api) -> None:
    reply = await api.get("/nowhere")
    assert reply.status == 404
    assert reply.error["type"] == "NOT_FOUND_ERROR"
    reply = await api.call("PUT", "/carts")
    assert reply.status == 405
    assert "error" in reply.body


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
async def test_bad_json_body_is_400(api: Api, body: bytes) -> None:
    for path in ("/carts", "/orders"):
        reply = await api.call(
            "POST",
            path,
            data=body,
            headers={"Idempotency-Key": "idem_x1", "Content-Type": "application/json"},
        )
        assert reply.status == 400
        assert reply.error["type"] == "INVALID_REQUEST_ERROR"
        assert reply.error["code"] == "INVALID_JSON"
