"""Helpers for the sandbox tests: a thin plain-aiohttp caller and a few constants.

The tests talk HTTP with aiohttp only, never with the SDK, so they check the sandbox's wire
behaviour on its own. (The module name is unique so it cannot clash with other test dirs.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import aiohttp

HEADERS = {"X-TT-API-Key": "sk_test_suite", "X-TT-Retailer": "retailer-a", "X-TT-Platform": "api"}
START = dt.date(2026, 3, 2)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any
    text: str

    @property
    def data(self) -> Any:
        assert "data" in self.body, self.body
        return self.body["data"]

    @property
    def error(self) -> Any:
        assert "error" in self.body, self.body
        assert "data" not in self.body, self.body
        return self.body["error"]


class Api:
    """Plain HTTP calls with the required headers, decoded into a :class:`Reply`."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> Reply:
        sent = dict(HEADERS)
        for name, value in (headers or {}).items():
            if value is None:
                sent.pop(name, None)
            else:
                sent[name] = value
        url = self.base_url + "/api/v3" + path
        async with self.http.request(
            method, url, json=json, data=data, params=params, headers=sent
        ) as resp:
            text = await resp.text()
            body = await resp.json(content_type=None) if text else None
            return Reply(resp.status, body, resp.headers, text)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.call("GET", path, **kw)

    async def inventory(self, event_id: str, occ_id: str, code: str | None = None) -> list[Any]:
        params = {"providerCode": code} if code is not None else None
        reply = await self.get(
            f"/events/{event_id}/occurrences/{occ_id}/inventory-items", params=params
        )
        assert reply.status == 200, reply.body
        items: list[Any] = reply.data
        return items

    async def cart(self, occ_id: str, *lines: tuple[Any, int], option: int = 0) -> Reply:
        items = [
            {
                "occurrenceId": occ_id,
                "inventoryItemId": item["id"],
                "priceOptionId": item["priceOptions"][option]["id"],
                "quantity": qty,
            }
            for item, qty in lines
        ]
        return await self.call("POST", "/carts", json={"items": items})

    async def order(
        self, cart_id: str, total: Any, key: str | None = "idem_test1", **extra: Any
    ) -> Reply:
        body = {
            "cartId": cart_id,
            "expectedTotal": total,
            "contact": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+441234"},
        }
        body.update(extra)
        headers: dict[str, str | None] = {"Idempotency-Key": key}
        return await self.call("POST", "/orders", json=body, headers=headers)


def first(items: list[Any], kind: str, min_qty: int = 1) -> Any:
    """The first item of a variant type with at least ``min_qty`` available."""
    for item in items:
        if item["inventoryVariant"]["_type"] == kind and item["quantityAvailable"] >= min_qty:
            return item
    raise AssertionError(f"no {kind} item with {min_qty} available")
