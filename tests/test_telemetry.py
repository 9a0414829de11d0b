"""Hooks and OpenTelemetry against the real sandbox over loopback (issue 22).

Spans and metrics are read with the OpenTelemetry SDK's in-memory exporter and reader, the
providers passed to the client (``tracer_provider=``, ``meter_provider=``), so that no test
sets the process-wide providers. What the client records is checked against what the server
saw: one attempt span per request that arrived.
"""

from __future__ import annotations

import asyncio
import logging
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ttg_async import (
    CartItemInput,
    ConfigurationError,
    Contact,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    ServerError,
    TTGClient,
    TTGError,
)
from ttg_async._core.telemetry import Observer, OperationNaming
from ttg_async._ttg.protocol import NAMING
from ttg_async.sandbox import ROUTES, Sandbox

KEY = "sk_test_telemetry_K3yS3cr3t"
RETAILER = "telemetry"
CONTACT = Contact("Ann Example", "ann@example.com", "+15550100")
FAST = RetryPolicy(max_attempts=3, backoff_base=0)
EVENT_ROUTE = "GET /api/v3/events/{eventId}"
ORDERS = "POST /api/v3/orders"


@dataclass
class Recorded:
    """The in-memory exporter and reader a client writes to."""

    spans: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    metrics: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def options(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def finished(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.spans.get_finished_spans())

    def calls(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.kind is SpanKind.INTERNAL]

    def attempts_of(self, call: ReadableSpan) -> list[ReadableSpan]:
        children = [
            s
            for s in self.finished()
            if s.parent is not None and s.parent.span_id == call.context.span_id
        ]
        return sorted(children, key=lambda s: s.start_time or 0)

    def attempt_spans(self) -> list[ReadableSpan]:
        return [s for s in self.finished() if s.kind is SpanKind.CLIENT]

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += list(metric.data.data_points)
        return found

    def counted(self, name: str) -> int:
        return sum(int(p.value) for p in self.points(name))

    def everything(self) -> str:
        """Every span (attributes, events, names) and every metric, as text."""
        spans = "\n".join(s.to_json() for s in self.finished())
        data = self.metrics.get_metrics_data()
        return spans + "\n" + ("" if data is None else data.to_json())


@pytest.fixture
def rec() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.tracer_provider.shutdown()
    recorded.meter_provider.shutdown()


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# -- one retried call ------------------------------------------------------------------------


async def test_a_500_then_success_makes_one_call_span_and_two_attempt_spans(
    rec: Recorded,
) -> None:
    sb = Sandbox(seed=0)
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=FAST, **rec.options()) as ttg,
    ):
        sb.inject(EVENT_ROUTE, "status", status=500, times=1)
        event = await ttg.events.get("1001")
    assert event.id == "1001"
    [call] = rec.calls()
    assert call.name == "ttg.events.get"
    assert call.status.status_code is StatusCode.UNSET
    assert attrs(call)["ttg.attempts"] == 2
    first, second = rec.attempts_of(call)
    assert len(rec.attempt_spans()) == 2 == sb.request_count()
    for span in (first, second):
        assert span.kind is SpanKind.CLIENT
        assert span.name == EVENT_ROUTE  # "{method} {url.template}", the sandbox's own route
        assert attrs(span)["http.request.method"] == "GET"
        assert attrs(span)["url.template"] == "/api/v3/events/{eventId}"
        assert attrs(span)["server.address"] == "127.0.0.1"
    assert "http.request.resend_count" not in attrs(first)
    assert attrs(first)["http.response.status_code"] == 500
    assert attrs(first)["error.type"] == "500"
    assert first.status.status_code is StatusCode.ERROR
    assert attrs(second)["http.request.resend_count"] == 1
    assert attrs(second)["http.response.status_code"] == 200
    assert "error.type" not in attrs(second)
    assert rec.counted("ttg.client.retries") == 1
    durations = rec.points("http.client.request.duration")
    assert {p.attributes["http.response.status_code"] for p in durations} == {200, 500}
    assert sum(p.count for p in durations) == 2


def test_every_call_has_its_name_and_template() -> None:
    """Span names follow the resources (``ttg.inventory.list``), templates the sandbox's
    routes; the query never reaches either."""
    cases = {
        ("GET", "/api/v3/locations"): "ttg.locations.list",
        ("GET", "/api/v3/events?locationId=1"): "ttg.events.list",
        ("GET", "/api/v3/events/1001"): "ttg.events.get",
        ("GET", "/api/v3/events/1001/occurrences"): "ttg.occurrences.list",
        ("GET", "/api/v3/events/1001/occurrences/9"): "ttg.occurrences.get",
        ("GET", "/api/v3/events/10%2F1/occurrences/9/inventory-items"): "ttg.inventory.list",
        ("POST", "/api/v3/carts"): "ttg.carts.create",
        ("GET", "/api/v3/carts/c_1"): "ttg.carts.get",
        ("DELETE", "/api/v3/carts/c_1"): "ttg.carts.delete",
        ("POST", "/api/v3/orders"): "ttg.orders.create",
        ("GET", "/api/v3/orders/o_1"): "ttg.orders.get",
    }
    templates = set()
    for (method, path), name in cases.items():
        operation, template = NAMING.describe(method, path)
        assert operation == name, path
        assert "?" not in template
        templates.add(f"{method} {template}")
    assert templates == set(ROUTES)


def test_buyback_names_follow_its_routes() -> None:
    from ttg_async.buyback._protocol import NAMING as TBB
    from ttg_async.buyback.sandbox import ROUTES as TBB_ROUTES

    cases = {
        ("POST", "/v1/auth/token"): "tbb.auth.token",
        ("GET", "/v1/events"): "tbb.events.list",
        ("GET", "/v1/events/evt_1"): "tbb.events.get",
        ("GET", "/v1/events/evt_1/sections"): "tbb.sections.list",
        ("GET", "/v1/events/evt_1/sections/Box%20%235/rows"): "tbb.rows.list",
        ("POST", "/v1/quotes"): "tbb.quotes.create",
        ("POST", "/v1/orders"): "tbb.orders.create",
    }
    templates = set()
    for (method, path), name in cases.items():
        operation, template = TBB.describe(method, path)
        assert operation == name, path
        templates.add(f"{method} {template}")
    assert templates == set(TBB_ROUTES)


# -- the fault matrix: one attempt span per request the server saw ----------------------------


@dataclass(frozen=True)
class Kind:
    kind: str
    inject: dict[str, Any] = field(default_factory=dict)
    timeout: float = 2.0


KINDS = {
    "503": Kind("status", {"status": 503}),
    "429 Retry-After": Kind("status", {"status": 429, "retry_after": 0}),
    "html 502": Kind("html_502"),
    "reset before": Kind("reset_before"),
    "reset after commit": Kind("reset_after_commit"),
    "slow": Kind("slow", {"delay": 0.5}, timeout=0.25),
    "truncate": Kind("truncate"),
    "500 after commit": Kind("status_after_commit", {"status": 500}),
}


async def _browse_and_buy(ttg: TTGClient, sb: Sandbox, rng: random.Random) -> None:
    """A few reads and writes of every kind; failures are the fault's, and are kept going."""
    event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)

    async def attempt(call: Any) -> Any:
        try:
            return await call
        except TTGError:
            return None

    await attempt(ttg.events.get(event_id))
    await attempt(ttg.occurrences.get(event_id, occurrence_id))
    items = await attempt(ttg.inventory.list(event_id, occurrence_id))
    for _ in range(6):
        if not items:
            items = await attempt(ttg.inventory.list(event_id, occurrence_id))
            continue
        item = rng.choice([i for i in items if i.price_options] or items)
        line = CartItemInput.for_option(occurrence_id, item, item.price_options[0])
        cart = await attempt(ttg.carts.create([line]))
        if cart is None:
            continue
        await attempt(ttg.carts.get(cart.id))
        order = await attempt(
            ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
        )
        if order is None:
            await attempt(ttg.carts.delete(cart.id))


@pytest.mark.parametrize("name", list(KINDS))
async def test_attempt_spans_equal_the_requests_the_sandbox_saw(name: str, rec: Recorded) -> None:
    kind = KINDS[name]
    sb = Sandbox(seed=7, unprotected=True)
    policy = RetryPolicy(max_attempts=3, backoff_base=0, deadline=3 * kind.timeout + 0.5)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY, RETAILER, base_url=base_url, retry=policy, timeout=kind.timeout, **rec.options()
        ) as ttg,
    ):
        fault = sb.inject("*", kind.kind, probability=0.3, seed=22, **kind.inject)
        await _browse_and_buy(ttg, sb, random.Random(0))
        hits = fault.hits
    # The server has shut down: a late answer's request is counted, or was dropped.
    requests = sb.request_count()
    assert hits > 0, "the fault never struck"
    # Call by call (by X-Request-ID): one attempt span per request that arrived, save one
    # kind of request the SDK never sees. aiohttp itself sends an idempotent request (GET,
    # DELETE) once more when a reused connection breaks under it (RFC 9112 §9.3.1), inside
    # what is one attempt for us; only a reset can cause that.
    hidden = 0
    arrivals = 0
    retries = 0
    for call in rec.calls():
        attempts = rec.attempts_of(call)
        arrived = sb.attempts(attrs(call)["ttg.request_id"])
        arrivals += arrived
        extra = arrived - len(attempts)
        if extra:
            broken = [a for a in attempts if attrs(a).get("error.type") == "APIConnectionError"]
            assert kind.kind.startswith("reset"), (call.name, arrived, len(attempts))
            assert attrs(call)["http.request.method"] in {"GET", "DELETE"}, call.name
            assert 0 < extra <= len(broken), (call.name, arrived, len(attempts))
            hidden += extra
        # Each call's attempts are its own children, numbered in order, as many as it says.
        assert len(attempts) == attrs(call)["ttg.attempts"], call.name
        for number, span in enumerate(attempts):
            assert attrs(span).get("http.request.resend_count", 0) == number
        retries += len(attempts) - 1
    assert arrivals == requests  # every request the server saw belongs to a recorded call
    assert len(rec.attempt_spans()) == requests - hidden, (len(rec.attempt_spans()), requests)
    assert sum(p.count for p in rec.points("http.client.request.duration")) == requests - hidden
    assert rec.counted("ttg.client.retries") == retries


async def test_a_checkout_that_ends_unknown_says_so_on_its_span(rec: Recorded) -> None:
    sb = Sandbox(seed=1, unprotected=True)
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=FAST, **rec.options()) as ttg,
    ):
        event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)
        items = await ttg.inventory.list(event_id, occurrence_id)
        item = next(i for i in items if i.price_options)
        cart = await ttg.carts.create(
            [CartItemInput.for_option(occurrence_id, item, item.price_options[0])]
        )
        sb.inject(ORDERS, "status_after_commit", status=500, times=3)
        with pytest.raises(ServerError) as caught:
            await ttg.orders.create(cart.id, expected_total=cart.total, contact=CONTACT)
    assert caught.value.outcome_unknown
    [checkout] = [s for s in rec.calls() if s.name == "ttg.orders.create"]
    assert checkout.status.status_code is StatusCode.ERROR
    assert attrs(checkout)["ttg.outcome_unknown"] is True
    assert attrs(checkout)["error.type"] == "ServerError"
    assert attrs(checkout)["ttg.attempts"] == 3
    assert len(rec.attempts_of(checkout)) == 3
    # A call that succeeded says nothing of the kind.
    [held] = [s for s in rec.calls() if s.name == "ttg.carts.create"]
    assert "ttg.outcome_unknown" not in attrs(held)


# -- hooks ---------------------------------------------------------------------------------


async def test_hooks_see_every_attempt_in_order_with_one_request_id() -> None:
    seen: list[object] = []

    def on_request(event: RequestEvent) -> None:
        seen.append(event)

    async def on_response(event: ResponseEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event)

    def on_retry(event: RetryEvent) -> None:
        seen.append(event)

    hooks = {"request": [on_request], "response": [on_response], "retry": [on_retry]}
    sb = Sandbox(seed=0)
    async with (
        sb.serve() as base_url,
        TTGClient(KEY, RETAILER, base_url=base_url, retry=FAST, event_hooks=hooks) as ttg,
    ):
        sb.inject(EVENT_ROUTE, "status", status=500, times=2)
        await ttg.events.get("1001")
    kinds = [(type(e).__name__, e.attempt) for e in seen]  # type: ignore[attr-defined]
    assert kinds == [
        ("RequestEvent", 1),
        ("ResponseEvent", 1),
        ("RetryEvent", 1),
        ("RequestEvent", 2),
        ("ResponseEvent", 2),
        ("RetryEvent", 2),
        ("RequestEvent", 3),
        ("ResponseEvent", 3),
    ]
    [request_id] = {e.request_id for e in seen}  # type: ignore[attr-defined]
    assert sb.attempts(request_id) == 3
    responses = [e for e in seen if isinstance(e, ResponseEvent)]
    assert [r.status for r in responses] == [500, 500, 200]
    assert all(r.elapsed >= 0 and r.path == "/api/v3/events/1001" for r in responses)
    retries = [e for e in seen if isinstance(e, RetryEvent)]
    assert all(isinstance(r.error, ServerError) and r.wait == 0 for r in retries)


async def test_a_raising_hook_is_logged_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("hook bug")

    async def broken_async(event: object) -> None:
        raise ValueError("async hook bug")

    hooks = {kind: [broken, broken_async] for kind in ("request", "response", "retry")}
    sb = Sandbox(seed=0)
    async with sb.serve() as base_url:
        async with TTGClient(KEY, RETAILER, base_url=base_url, retry=FAST) as plain:
            expected = await plain.events.get("1001")
        async with TTGClient(
            KEY, RETAILER, base_url=base_url, retry=FAST, event_hooks=hooks
        ) as hooked:
            sb.inject(EVENT_ROUTE, "status", status=500, times=1)
            assert await hooked.events.get("1001") == expected
            sb.inject(EVENT_ROUTE, "status", status=404, times=3)
            with pytest.raises(TTGError) as caught:
                await hooked.events.get("1001")
    assert type(caught.value).__name__ == "NotFoundError"  # the call's own error, not a hook's
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # request, response, retry, request, response; then request, response: 2 hooks each.
    assert len(warnings) == 14
    assert "event hook" in warnings[0].getMessage()
    assert KEY not in caplog.text


def test_hooks_are_checked_at_construction() -> None:
    for bad in ({"reqest": [print]}, {"request": print}, {"request": [1]}, [print]):
        with pytest.raises(ConfigurationError):
            TTGClient(KEY, RETAILER, event_hooks=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        TTGClient(KEY, RETAILER, telemetry="yes")  # type: ignore[arg-type]


# -- off, and absent -------------------------------------------------------------------------


async def test_telemetry_false_records_nothing_but_hooks_still_run(rec: Recorded) -> None:
    seen: list[RequestEvent] = []
    sb = Sandbox(seed=0)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            telemetry=False,
            event_hooks={"request": [seen.append]},
            **rec.options(),
        ) as ttg,
    ):
        await ttg.events.get("1001")
    assert rec.finished() == ()
    assert rec.points("http.client.request.duration") == []
    assert [e.attempt for e in seen] == [1]


def test_no_hook_and_no_provider_watches_nothing() -> None:
    """The API's no-op default: the pipeline keeps its straight path (no watch at all)."""
    observer = Observer(None, NAMING, "https://api.example.com", telemetry=True)
    assert observer.begin("GET", "/api/v3/events/1", "req_1") is None


def test_without_opentelemetry_the_client_works_unchanged() -> None:
    """``opentelemetry-api`` is optional: blocked from import, calls and hooks still work."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if it were not installed
        from ttg_async import TTGClient
        from ttg_async.sandbox import Sandbox

        async def main():
            seen = []
            async with Sandbox().serve() as url:
                async with TTGClient("sk_test_x", "r", base_url=url,
                                     event_hooks={"request": [seen.append]}) as ttg:
                    event = await ttg.events.get("1001")
                async with TTGClient("sk_test_x", "r", base_url=url) as ttg:
                    await ttg.events.get("1001")
            assert "opentelemetry.trace" not in sys.modules
            print(event.id, len(seen))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1001", "1"]


def test_the_cache_seam_counts_hits_and_coalesced_calls(rec: Recorded) -> None:
    naming = OperationNaming("ttg", "/api/v3", {"events": "eventId"})
    observer = Observer(None, naming, "https://api.example.com", telemetry=True, **rec.options())
    observer.cache_hit("GET", "/api/v3/events/1?x=secret")
    observer.cache_hit("GET", "/api/v3/events/2")
    observer.coalesced("GET", "/api/v3/events/1")
    assert rec.counted("ttg.client.cache.hits") == 2
    assert rec.counted("ttg.client.coalesced") == 1
    [point, *_] = rec.points("ttg.client.cache.hits")
    assert point.attributes["url.template"] == "/api/v3/events/{eventId}"


# -- secrets ---------------------------------------------------------------------------------

RATE_CODE = "Priv4te-Rate-Code-8812"
TBB_SECRET = "tbb-S3cret-Value-5531"
TBB_CLIENT = "tbb_test_observed"


async def test_no_key_secret_token_or_rate_code_in_spans_metrics_or_events(
    rec: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    from ttg_async.buyback import BuybackClient
    from ttg_async.buyback.sandbox import BuybackSandbox

    events: list[object] = []

    def keep(event: object) -> None:
        events.append(event)

    def broken(event: object) -> None:
        raise RuntimeError("a hook that fails is logged")

    hooks = {kind: [keep, broken] for kind in ("request", "response", "retry")}
    sb = Sandbox(seed=0)
    event_id, occurrence_id = sb.find_occurrence(assigned_seat=False)
    sb.add_rate_code(event_id, RATE_CODE)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY, RETAILER, base_url=base_url, retry=FAST, event_hooks=hooks, **rec.options()
        ) as ttg,
    ):
        route = "GET /api/v3/events/{eventId}/occurrences/{occurrenceId}/inventory-items"
        sb.inject(route, "status", status=503, times=1)
        assert await ttg.inventory.list(event_id, occurrence_id, provider_code=RATE_CODE)
        sb.inject(route, "status", status=503, times=3)
        with pytest.raises(ServerError):
            await ttg.inventory.list(event_id, occurrence_id, provider_code=RATE_CODE)
        await ttg.inventory.by_rate_codes(event_id, occurrence_id, [None, RATE_CODE, "nope"])

    tbb_sb = BuybackSandbox(seed=0)
    tbb_sb.add_partner(TBB_CLIENT, secret=TBB_SECRET)
    async with (
        tbb_sb.serve() as tbb_url,
        BuybackClient(
            TBB_CLIENT,
            TBB_SECRET,
            base_url=tbb_url,
            retry=FAST,
            event_hooks=hooks,
            **rec.options(),
        ) as tbb,
    ):
        tbb_sb.inject("GET /v1/events/{event_id}", "status", status=503, times=1)
        await tbb.events.get("evt_1001")
        tbb_sb.revoke_tokens()  # refused: renewed, and the call replayed
        await tbb.events.list(q=RATE_CODE, limit=5).collect()
    tokens = tbb_sb.issued_tokens(TBB_CLIENT)
    assert len(tokens) >= 2

    names = {s.name for s in rec.calls()}
    assert {"ttg.inventory.list", "tbb.events.get", "tbb.events.list", "tbb.auth.token"} <= names
    assert any(isinstance(e, RetryEvent) for e in events)
    haystack = rec.everything() + "\n" + "\n".join(repr(e) for e in events)
    haystack += "\n" + "\n".join(str(e.error) for e in events if isinstance(e, RetryEvent))
    haystack += "\n" + caplog.text
    for needle in [KEY, RATE_CODE, TBB_SECRET, *tokens, "providerCode", "?"]:
        assert needle not in haystack, needle
    keys = {k for s in rec.finished() for k in (s.attributes or {})}
    assert not {k for k in keys if k.startswith(("url.full", "url.query"))}


async def test_a_call_held_at_the_429_gate_records_the_wait(rec: Recorded) -> None:
    shut = asyncio.Event()  # the 429 shuts the gate once its answer is read

    def on_response(event: ResponseEvent) -> None:
        if event.status == 429:
            shut.set()

    sb = Sandbox(seed=0)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            retry=FAST,
            event_hooks={"response": [on_response]},
            **rec.options(),
        ) as ttg,
    ):
        sb.inject(EVENT_ROUTE, "status", status=429, retry_after=0.3, times=1)
        first = asyncio.ensure_future(ttg.events.get("1001"))
        await shut.wait()
        await asyncio.sleep(0.05)
        await asyncio.gather(first, ttg.events.get("1002"))
    held = [s for s in rec.calls() if attrs(s).get("ttg.gate_wait")]
    assert len(held) == 1
    assert 0.05 < attrs(held[0])["ttg.gate_wait"] < 1.0
    [point] = rec.points("ttg.client.gate_wait")
    assert point.count == 1
    assert point.sum == pytest.approx(attrs(held[0])["ttg.gate_wait"])


async def test_buyback_calls_token_and_replay_spans(rec: Recorded) -> None:
    from ttg_async.buyback import BuybackClient
    from ttg_async.buyback.sandbox import BuybackSandbox

    requests: list[RequestEvent] = []
    sb = BuybackSandbox(seed=0)
    async with (
        sb.serve() as base_url,
        BuybackClient(
            "tbb_test_spans",
            "secret",
            base_url=base_url,
            retry=FAST,
            event_hooks={"request": [requests.append]},
            **rec.options(),
        ) as tbb,
    ):
        sb.inject("GET /v1/events/{event_id}", "status", status=503, times=1)
        await tbb.events.get("evt_1001")
        sb.revoke_tokens()  # refused: a new token, and the call replayed
        await tbb.events.get("evt_1001")
    names = [s.name for s in sorted(rec.calls(), key=lambda s: s.start_time or 0)]
    assert names == [
        "tbb.auth.token",
        "tbb.events.get",
        "tbb.events.get",
        "tbb.auth.token",
        "tbb.events.get",
    ]
    retried, refused, replayed = [s for s in rec.calls() if s.name == "tbb.events.get"]
    assert [a.name for a in rec.attempts_of(retried)] == ["GET /v1/events/{event_id}"] * 2
    assert attrs(rec.attempts_of(retried)[1])["http.request.resend_count"] == 1
    assert attrs(rec.attempts_of(refused)[0])["http.response.status_code"] == 401
    assert attrs(refused)["ttg.request_id"] == attrs(replayed)["ttg.request_id"]
    assert len(rec.attempt_spans()) == sb.request_count() == len(requests) == 6


def test_the_global_providers_are_used_when_none_is_given() -> None:
    """Set once per process, so in a child: a client built before they were set sees them."""
    code = textwrap.dedent(
        """
        import asyncio
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from ttg_async import TTGClient
        from ttg_async.sandbox import Sandbox

        async def main():
            async with Sandbox().serve() as url:
                ttg = TTGClient("sk_test_x", "r", base_url=url)  # before any provider
                exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
                provider = TracerProvider()
                provider.add_span_processor(SimpleSpanProcessor(exporter))
                trace.set_tracer_provider(provider)
                metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
                async with ttg:
                    await ttg.events.get("1001")
                async with TTGClient("sk_test_x", "r", base_url=url, telemetry=False) as off:
                    await off.events.get("1001")
            names = sorted(s.name for s in exporter.get_finished_spans())
            metric_names = sorted(
                m.name
                for r in reader.get_metrics_data().resource_metrics
                for s in r.scope_metrics
                for m in s.metrics
            )
            print(names, metric_names)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "['GET /api/v3/events/{eventId}', 'ttg.events.get'] ['http.client.request.duration']"
    )


async def test_a_call_the_sampler_drops_makes_no_attempt_span() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = Recorded()
    sb = Sandbox(seed=0)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            tracer_provider=provider,
            meter_provider=metrics.meter_provider,
        ) as ttg,
    ):
        assert (await ttg.events.get("1001")).id == "1001"
    assert exporter.get_finished_spans() == ()
    assert sum(p.count for p in metrics.points("http.client.request.duration")) == 1
    provider.shutdown()
    metrics.meter_provider.shutdown()
    metrics.tracer_provider.shutdown()


async def test_cache_hits_and_coalesced_calls_reach_the_metrics(rec: Recorded) -> None:
    """The hot-read layer reports through the seam: a herd counts as coalesced calls, a repeat
    within the TTL as a cache hit, each under the route's template (never the ID)."""
    from ttg_async import ResponseCache

    sb = Sandbox(seed=0)
    sb.set_latency("GET /api/v3/events/{eventId}", 0.05)
    async with (
        sb.serve() as base_url,
        TTGClient(
            KEY,
            RETAILER,
            base_url=base_url,
            retry=FAST,
            cache=ResponseCache(ttl=60.0),
            **rec.options(),
        ) as ttg,
    ):
        await asyncio.gather(*(ttg.events.get("1001") for _ in range(5)))
        await ttg.events.get("1001")
    assert sb.request_count("GET /api/v3/events/{eventId}") == 1
    assert rec.counted("ttg.client.coalesced") == 4
    assert rec.counted("ttg.client.cache.hits") == 1
    [point, *_] = rec.points("ttg.client.cache.hits")
    assert point.attributes["url.template"] == "/api/v3/events/{eventId}"
