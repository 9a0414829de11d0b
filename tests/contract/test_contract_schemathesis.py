"""The sandbox against Schemathesis: docs/openapi.yaml checked against our own server.

Schemathesis (written elsewhere) generates requests from the spec, for every GET and for the
cart and order POSTs, sends them to the sandbox on loopback and checks each answer: no 5xx,
only documented status codes, documented content types and headers, and bodies that fit the
response schemas. Half of the generated IDs are real ones from the sandbox's catalog, so the
2xx answers are exercised as well as the 404s. On top of Schemathesis's own checks, every
error must be JSON in the TTG envelope (``error_is_the_envelope``).

A second pass sends Schemathesis's request-shape probes (issue 17): every path with each
method the spec does not list (405 with ``Allow``), and each POST with a body that is not
``application/json`` (415, a documented answer), under the same checks.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
import requests
import schemathesis
from contract_support import SPEC_PATH
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.generation.meta import REQUEST_SHAPE_PROBES, CoveragePhaseData, CoverageScenario

from ttg_async.sandbox import Sandbox

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
RETAILER = "retailer-1"
HEADERS = {"X-TT-API-Key": KEY, "X-TT-Retailer": RETAILER, "X-TT-Platform": "api"}
CONTACT = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+442071234567"}

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE])

# The request-shape probes live in the coverage phase, as negative cases.
probes = schemathesis.openapi.from_path(SPEC_PATH)
probes.config.generation.update(modes=[GenerationMode.NEGATIVE])
probes.config.phases.update(phases=["coverage"])

_ERROR_KEYS = frozenset({"type", "code", "message", "param", "details"})


# Not registered with @schemathesis.check, which would make it global: the Buyback sandbox's
# Schemathesis test runs in the same process, with another envelope. It is passed by name.
def error_is_the_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error is ``{"error": {type, code, message, ...}}`` in JSON, nothing else."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), (response.status_code, content_type)
    body = msgspec.json.decode(response.content) if response.content else None
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), error
    assert {"type", "code", "message"} <= set(error), error
    assert set(error) <= _ERROR_KEYS, error
    assert all(isinstance(error[k], str) for k in ("type", "code", "message")), error
    return True


class _Served:
    """The sandbox on its own event loop, in a thread: Schemathesis calls it synchronously."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.base_url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.sandbox.serve() as base_url:
            self.base_url = base_url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> _Served:
        self._thread.start()
        if not self._ready.wait(timeout=60):
            raise RuntimeError("the sandbox did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        stop = self._stop
        assert stop is not None
        self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)


@dataclass
class Real:
    """IDs the sandbox knows, so generated requests also reach its 2xx answers."""

    location_id: str
    event_id: str
    occurrence_id: str
    line: dict[str, Any]  # a cart item that can be held
    cart_id: str
    order_id: str


@pytest.fixture(scope="module")
def served() -> Iterator[_Served]:
    with _Served(Sandbox(seed=0)) as served:
        yield served


def _post(base_url: str, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    answer = requests.post(base_url + path, json=body, headers={**HEADERS, **headers}, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


@pytest.fixture(scope="module")
def real(served: _Served) -> Real:
    event_id, occurrence_id = served.sandbox.find_occurrence(general_admission=True)
    items = requests.get(
        f"{served.base_url}/api/v3/events/{event_id}/occurrences/{occurrence_id}/inventory-items",
        headers=HEADERS,
        timeout=30,
    ).json()["data"]
    ga = next(i for i in items if i["inventoryVariant"]["_type"] == "GeneralAdmission")
    line = {
        "occurrenceId": occurrence_id,
        "inventoryItemId": ga["id"],
        "priceOptionId": ga["priceOptions"][0]["id"],
        "quantity": 1,
    }
    cart = _post(served.base_url, "/api/v3/carts", {"items": [line]})
    held = _post(served.base_url, "/api/v3/carts", {"items": [line]})
    order = _post(
        served.base_url,
        "/api/v3/orders",
        {"cartId": held["id"], "expectedTotal": held["total"], "contact": CONTACT},
        **{"Idempotency-Key": "idem_schemathesis1"},
    )
    return Real("1", event_id, occurrence_id, line, cart["id"], order["id"])


def _use_real_ids(case: Any, real: Real) -> None:
    """Point about half of the cases at things that exist (chosen from the case itself)."""
    query = case.query or {}
    if query.get("startDate") and query.get("endDate") and query["endDate"] < query["startDate"]:
        # A rule JSON Schema cannot state (the spec says it in words): a range runs forwards.
        query["startDate"], query["endDate"] = query["endDate"], query["startDate"]
    if zlib.crc32(repr((case.path_parameters, case.query)).encode()) % 2:
        return
    known = {
        "eventId": real.event_id,
        "occurrenceId": real.occurrence_id,
        "cartId": real.cart_id,
        "orderId": real.order_id,
    }
    for name in case.path_parameters or {}:
        case.path_parameters[name] = known[name]
    if case.query and "locationId" in case.query:
        case.query["locationId"] = real.location_id
    if case.method == "POST" and case.path.endswith("/carts"):
        case.body = {"items": [real.line]}
    if case.method == "POST" and case.path.endswith("/orders"):
        case.body = {**case.body, "cartId": real.cart_id}


@schema.include(method=["GET", "POST"]).parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI never flickers
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_sandbox_answers_as_the_spec_says(case: Any, served: _Served, real: Real) -> None:
    _use_real_ids(case, real)
    response = case.call_and_validate(
        base_url=served.base_url, headers=HEADERS, additional_checks=[error_is_the_envelope]
    )
    assert response.status_code < 500


@probes.include(method=["GET", "POST", "DELETE"]).parametrize()
@settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_sandbox_answers_request_shape_probes_in_the_envelope(
    case: Any, served: _Served, real: Real
) -> None:
    data = case.meta.phase.data if case.meta is not None else None
    if not isinstance(data, CoveragePhaseData) or data.scenario not in REQUEST_SHAPE_PROBES:
        return  # the other negative cases (bad values) are the positive pass's business
    _use_real_ids(case, real)
    response = case.call_and_validate(
        base_url=served.base_url, headers=HEADERS, additional_checks=[error_is_the_envelope]
    )
    # Schemathesis lets a wrong method pass as 401, 404 or 429 too; the sandbox routes first.
    if data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        assert response.status_code == 405, response.status_code
        assert response.headers.get("allow"), response.headers
    elif case.method == "POST":
        assert response.status_code == 415, response.status_code
