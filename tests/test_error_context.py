"""Errors say where: every APIError and APIConnectionError names the call that failed."""

from __future__ import annotations

import pytest

from ttg_async import (
    APIConnectionError,
    NotFoundError,
    ProviderCodeNotFoundError,
    RetryPolicy,
    ServerError,
    TTGClient,
)
from ttg_async.sandbox import Sandbox

KEY = "sk_test_errwhere0000000000secret"
NO_WAIT = RetryPolicy(backoff_base=0.0, backoff_max=0.0)


async def test_an_api_error_names_its_method_and_path_but_no_query_or_key() -> None:
    async with (
        Sandbox(seed=0).serve() as base_url,
        TTGClient(KEY, "r", base_url=base_url, retry=NO_WAIT) as ttg,
    ):
        with pytest.raises(NotFoundError) as info:
            await ttg.events.get("404404")
        with pytest.raises(ProviderCodeNotFoundError) as coded:
            await ttg.inventory.list("1001", "100101", provider_code="secret-code")
    exc = info.value
    assert (exc.method, exc.path, exc.request_path) == ("GET", "/api/v3/events/404404", exc.path)
    assert "GET /api/v3/events/404404" in str(exc)
    assert str(exc).startswith("404 RESOURCE_NOT_FOUND: ")
    assert f"request_id={exc.request_id}" in str(exc)
    wrong = coded.value
    assert wrong.path == "/api/v3/events/1001/occurrences/100101/inventory-items"
    assert "providerCode" not in str(wrong.path)  # the query string is left out
    for error in (exc, wrong):
        assert "secret" not in str(error).replace("secret-code", "")  # never the key
        assert KEY[-12:] not in str(error) + repr(error)


async def test_a_server_error_after_retries_names_the_call() -> None:
    sandbox = Sandbox(seed=0)
    sandbox.inject("GET /api/v3/locations", "status", status=503, times=3)
    async with (
        sandbox.serve() as base_url,
        TTGClient(KEY, "r", base_url=base_url, retry=NO_WAIT) as ttg,
    ):
        with pytest.raises(ServerError) as info:
            await ttg.locations.list().collect()
    assert info.value.attempts == 3
    assert (info.value.method, info.value.path) == ("GET", "/api/v3/locations")
    assert "(GET /api/v3/locations)" in str(info.value)


async def test_a_connection_error_names_the_call() -> None:
    sandbox = Sandbox(seed=0)
    async with sandbox.serve() as base_url:
        pass  # the port is closed again: nothing listens there now
    async with TTGClient(KEY, "r", base_url=base_url, retry=RetryPolicy.disabled()) as ttg:
        with pytest.raises(APIConnectionError) as info:
            await ttg.occurrences.list("1001")
    exc = info.value
    assert (exc.method, exc.path) == ("GET", "/api/v3/events/1001/occurrences")
    assert "GET /api/v3/events/1001/occurrences" in str(exc)
    assert str(exc).count("/api/v3/events/1001/occurrences") == 1
