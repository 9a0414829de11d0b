"""The same service with FastAPI: ONE shared client, made in the app's lifespan.

    python -m pip install fastapi uvicorn
    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... uvicorn examples.fastapi_service:app

The lifespan runs inside the server's event loop, so the client is made there, used by every
request through a dependency, and closed when the server stops. Errors of the SDK become HTTP
answers in one exception handler.

Identical reads in flight at once share one request to TTG (coalescing, on by default), and
``cache_ttl`` keeps answers for a few seconds (see docs/web-services.md). A request whose
caller hangs up is cancelled alone: the others it had joined still get their answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from ttg_async import APIConnectionError, NotFoundError, ResponseCache, TTGClient, TTGError

_json = msgspec.json.Encoder()


def _reply(data: Any, status: int = 200) -> Response:
    # msgspec encodes the SDK's models directly; no pydantic mirror of them is needed.
    return Response(_json.encode(data), status_code=status, media_type="application/json")


def shared_client(request: Request) -> TTGClient:
    """The dependency handlers declare: the client the lifespan made."""
    client: TTGClient = request.app.state.ttg
    return client


# At module level, so FastAPI can resolve the annotation (this module uses postponed ones).
Client = Annotated[TTGClient, Depends(shared_client)]


def create_app(cache_ttl: float | None = 2.0, **client_options: Any) -> FastAPI:
    """The service. ``client_options`` go to ``TTGClient`` (the rest comes from $TTG_*).

    ``cache_ttl``: seconds an answer may be served again without asking TTG (``None``: no
    cache, only coalescing). Checkout still sends ``expectedTotal``, which catches a price
    that changed within the TTL.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cache = None if cache_ttl is None else ResponseCache(ttl=cache_ttl, max_entries=10_000)
        async with TTGClient(**client_options, cache=cache) as client:
            app.state.ttg = client
            yield

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(TTGError)
    async def ttg_error(request: Request, exc: TTGError) -> Response:
        if isinstance(exc, NotFoundError):
            return _reply({"error": "not_found", "what": exc.resource_type}, 404)
        if isinstance(exc, APIConnectionError):
            return _reply({"error": "upstream_unavailable"}, 502)
        return _reply({"error": "upstream_error", "request_id": exc.request_id}, 502)

    @app.get("/locations")
    async def list_locations(client: Client) -> Response:
        return _reply(await client.locations.list().collect())

    @app.get("/events/{event_id}")
    async def get_event(event_id: str, client: Client) -> Response:
        return _reply(await client.events.get(event_id))

    @app.get("/events/{event_id}/occurrences")
    async def list_occurrences(event_id: str, client: Client) -> Response:
        occurrences = await client.occurrences.list(event_id)
        return _reply([o for o in occurrences if o.from_price is not None])

    @app.get("/events/{event_id}/occurrences/{occurrence_id}/inventory")
    async def list_inventory(event_id: str, occurrence_id: str, client: Client) -> Response:
        return _reply(await client.inventory.list(event_id, occurrence_id))

    @app.get("/stats")
    async def hot_read_stats(client: Client) -> Response:
        return _reply(client.cache_stats())

    return app


# For `uvicorn examples.fastapi_service:app`. Importing needs no $TTG_* yet: the client (and
# its configuration check) is made in the lifespan, when the server starts.
app = create_app()
