"""A small aiohttp service in front of TTG: every handler awaits ONE shared client.

    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... python examples/aiohttp_service.py
    curl http://127.0.0.1:8080/events/1001

The client is made in a ``cleanup_ctx`` generator: after the app's event loop is running (a
client belongs to the loop it first runs in), once for the whole process (one connection
pool), and closed when the app shuts down. Handlers read it from the app with a typed
``web.AppKey``. TTG errors become JSON answers with the status a caller can act on.
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


async def list_locations(request: web.Request) -> web.Response:
    return _reply(await request.app[TTG].locations.list().collect())


def create_app(**client_options: Any) -> web.Application:
    """The service. ``client_options`` go to ``TTGClient`` (the rest comes from $TTG_*)."""

    async def ttg_client(app: web.Application) -> AsyncIterator[None]:
        async with TTGClient(**client_options) as client:
            app[TTG] = client
            yield  # the app serves requests here; the client closes after the last one

    app = web.Application(middlewares=[ttg_errors])
    app.cleanup_ctx.append(ttg_client)
    app.router.add_get("/locations", list_locations)
    app.router.add_get("/events/{event_id}", get_event)
    app.router.add_get("/events/{event_id}/occurrences", list_occurrences)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8080)
