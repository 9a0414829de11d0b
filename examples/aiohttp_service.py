"""A small aiohttp service in front of TTG: every handler awaits ONE shared client.

    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... python examples/aiohttp_service.py
    curl http://127.0.0.1:8080/events/1001

The client is made in a ``cleanup_ctx`` generator: after the app's event loop is running (a
client belongs to the loop it first runs in), once for the whole process (one connection
pool), and closed when the app shuts down. Handlers read it from the app with a typed
``web.AppKey``. TTG errors become JSON answers with the status a caller can act on.

When a show goes on sale, hundreds of handlers ask for the same event and inventory at once:
the client sends one request for all of them (coalescing is on by default), and with
``cache_ttl`` it answers repeats from a short-lived cache (see docs/web-services.md). A
handler that is cancelled (its caller hung up) does not cancel the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ttg_async import (
    APIConnectionError,
    NotFoundError,
    RateLimitError,
    ResponseCache,
    TTGClient,
    TTGError,
)

TTG: web.AppKey[TTGClient] = web.AppKey("ttg", TTGClient)

_json = msgspec.json.Encoder()


def _reply(data: Any, status: int = 200) -> web.Response:
    # msgspec encodes the SDK's models (and their Money, datetimes) directly.
    return web.Response(body=_json.encode(data), status=status, content_type="application/json")


@web.middleware
async def ttg_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Map the SDK's errors to answers; never leak a traceback or a key."""
    try:
        return await handler(request)
    except NotFoundError as exc:
        return _reply({"error": "not_found", "what": exc.resource_type}, 404)
    except RateLimitError as exc:
        response = _reply({"error": "busy"}, 503)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(int(exc.retry_after + 0.999))
        return response
    except APIConnectionError:
        return _reply({"error": "upstream_unavailable"}, 502)
    except TTGError as exc:
        return _reply({"error": "upstream_error", "request_id": exc.request_id}, 502)


async def get_event(request: web.Request) -> web.Response:
    event = await request.app[TTG].events.get(request.match_info["event_id"])
    return _reply(event)


async def list_occurrences(request: web.Request) -> web.Response:
    occurrences = await request.app[TTG].occurrences.list(request.match_info["event_id"])
    return _reply([o for o in occurrences if o.from_price is not None])


async def list_inventory(request: web.Request) -> web.Response:
    event_id, occurrence_id = request.match_info["event_id"], request.match_info["occurrence_id"]
    return _reply(await request.app[TTG].inventory.list(event_id, occurrence_id))


async def list_locations(request: web.Request) -> web.Response:
    return _reply(await request.app[TTG].locations.list().collect())


async def hot_read_stats(request: web.Request) -> web.Response:
    return _reply(request.app[TTG].cache_stats())


def create_app(cache_ttl: float | None = 2.0, **client_options: Any) -> web.Application:
    """The service. ``client_options`` go to ``TTGClient`` (the rest comes from $TTG_*).

    ``cache_ttl``: seconds an answer may be served again without asking TTG (``None``: no
    cache, only coalescing). A checkout still sends the cart's total as ``expectedTotal``, so
    a price that changed within the TTL is caught there, never charged.
    """

    async def ttg_client(app: web.Application) -> AsyncIterator[None]:
        cache = None if cache_ttl is None else ResponseCache(ttl=cache_ttl, max_entries=10_000)
        async with TTGClient(**client_options, cache=cache) as client:
            app[TTG] = client
            yield  # the app serves requests here; the client closes after the last one

    app = web.Application(middlewares=[ttg_errors])
    app.cleanup_ctx.append(ttg_client)
    app.router.add_get("/locations", list_locations)
    app.router.add_get("/events/{event_id}", get_event)
    app.router.add_get("/events/{event_id}/occurrences", list_occurrences)
    app.router.add_get("/events/{event_id}/occurrences/{occurrence_id}/inventory", list_inventory)
    app.router.add_get("/stats", hot_read_stats)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8080)
