"""The same service with FastAPI: ONE shared client, made in the app's lifespan.

    python -m pip install fastapi uvicorn
    TTG_BASE_URL=... TTG_API_KEY=... TTG_RETAILER=... uvicorn examples.fastapi_service:app

The lifespan runs inside the server's event loop, so the client is made there, used by every
request through a dependency, and closed when the server stops. Errors of the SDK become HTTP
answers in one exception handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from ttg_async import APIConnectionError, NotFoundError, TTGClient, TTGError

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


def create_app(**client_options: Any) -> FastAPI:
    """The service. ``client_options`` go to ``TTGClient`` (the rest comes from $TTG_*)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with TTGClient(**client_options) as client:
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

    return app


# For `uvicorn examples.fastapi_service:app`. Importing needs no $TTG_* yet: the client (and
# its configuration check) is made in the lifespan, when the server starts.
app = create_app()
