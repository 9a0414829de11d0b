"""The Buyback sandbox against Schemathesis: docs/buyback-openapi.yaml checked against our own
server, in both of its modes (the "routable" docs and the "payout" docs).

Schemathesis (written elsewhere) generates requests from the spec for every operation, sends
them to the sandbox on loopback and checks each answer: no 5xx, only documented status codes,
documented content types and headers (every error is the JSON envelope), and bodies that fit
the response schemas. Half of the generated cases are pointed at things that exist (real
credentials, events, sections and fresh quotes), so the 2xx answers are exercised as well as
the refusals.

Schemathesis's ``positive_data_acceptance`` check is left out: a request that fits the schema
can still break a business rule the spec states only in words (an in-hand date less than two
days before the event, a deadline after it, a quote already used), and the API answers those
with a documented ``400`` or ``422``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from contract_support import ROOT
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ttg_async.buyback.sandbox import BuybackSandbox

SPEC_PATH = ROOT / "docs" / "buyback-openapi.yaml"
CLIENT_ID = "tbb_test_schemathesis"
CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": "secret"}
PDF = b"%PDF-1.7\n%%EOF\n"

schema = schemathesis.openapi.from_path(SPEC_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE])


class _Served:
    """A sandbox on its own event loop, in a thread: Schemathesis calls it synchronously."""

    def __init__(self, sandbox: BuybackSandbox) -> None:
        self.sandbox = sandbox
        self.base_url = ""
        self.token = ""
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
        body = {**CREDENTIALS, "grant_type": "client_credentials"}
        answer = requests.post(self.base_url + "/v1/auth/token", json=body, timeout=30)
        self.token = answer.json()["data"]["access_token"]
        return self

    def __exit__(self, *exc: object) -> None:
        stop = self._stop
        assert stop is not None
        self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=30)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_quote(self, event_id: str, section_name: str) -> str:
        body = {"event_id": event_id, "section_name": section_name, "quantity": 1}
        answer = requests.post(
            self.base_url + "/v1/quotes", json=body, headers=self.headers, timeout=30
        )
        assert answer.status_code == 201, answer.text
        quote_id: str = answer.json()["data"]["quote_id"]
        return quote_id


@pytest.fixture(scope="module", params=["routable", "payout"])
def served(request: pytest.FixtureRequest) -> Iterator[_Served]:
    sandbox = BuybackSandbox(
        seed=0, start_date=dt.date(2030, 1, 1), docs_version=request.param, section_page_size=3
    )
    with _Served(sandbox) as served:
        yield served


def _use_real_ids(case: Any, served: _Served) -> None:
    """Point about half of the cases at things that exist (chosen from the case itself)."""
    if zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2:
        return
    sandbox = served.sandbox
    event_id = sandbox.event_ids()[0]
    section = sandbox.section_names(event_id)[-1]
    params = case.path_parameters or {}
    if "event_id" in params:
        params["event_id"] = event_id
    if "section_name" in params:
        params["section_name"] = section
    # A copy: Hypothesis may hand the same generated dict to another case.
    body = dict(case.body) if isinstance(case.body, dict) else None
    if body is not None:
        case.body = body
    if case.path == "/v1/auth/token" and body is not None:
        body.update(CREDENTIALS)
    elif case.path == "/v1/quotes" and body is not None:
        body.update(event_id=event_id, section_name=section, quantity=1)
        body.pop("row_name", None)
    elif case.path == "/v1/orders" and body is not None:
        body["quote_id"] = served.new_quote(event_id, section)
        in_hand = sandbox.event_start(event_id).date() - dt.timedelta(days=3)
        if "is_ready_to_deliver" in body:  # the multipart form
            body["in_hand_date"] = in_hand.isoformat()
            if body.get("delivery_type") == "pdf":
                body["file"] = PDF
            else:
                body.pop("file", None)
        else:
            deadline = sandbox.event_start(event_id) - dt.timedelta(hours=3)
            body["delivery_deadline"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI never flickers
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_buyback_sandbox_answers_as_the_spec_says(case: Any, served: _Served) -> None:
    _use_real_ids(case, served)
    case.call_and_validate(
        base_url=served.base_url,
        headers=served.headers,
        excluded_checks=[positive_data_acceptance],
    )
