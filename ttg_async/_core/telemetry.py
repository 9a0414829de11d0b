"""What a call tells the outside world: the caller's event hooks and OpenTelemetry.

`Observer` belongs to one client (its views share it). For each call the pipeline asks it
for a `CallWatch` with `Observer.begin`; ``None`` (no hook, and no tracer or meter provider
set) leaves the call on its usual path. A watch makes:

- one span per call, named after the SDK call (``ttg.events.get``), and one HTTP client span
  per attempt beneath it, with the HTTP semantic conventions' attributes (``url.template``,
  never the query: a rate code in it may be private; no header, so neither key nor token);
- the metrics ``http.client.request.duration`` (per attempt), ``ttg.client.retries`` and
  ``ttg.client.gate_wait``; and the counters ``ttg.client.cache.hits`` and
  ``ttg.client.coalesced``, which `Observer.cache_hit` and `Observer.coalesced` add to for
  whatever serves a call without sending it (the hot-read layer calls them);
- the hooks' events (``ttg_async._core.hooks``).

``opentelemetry-api`` is optional (``pip install 'ttg_async[otel]'``): it is imported when the
first client that wants telemetry is built, and without it only the hooks work. Names of the
API (``ttg.``, ``tbb.``, the prefix and the ID parameters) come from an `OperationNaming`
each API's protocol supplies.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final
from urllib.parse import urlsplit

from ttg_async._core.errors import ConfigurationError, TTGError
from ttg_async._core.hooks import EventHooks, RequestEvent, ResponseEvent, RetryEvent, check_hooks
from ttg_async._version import __version__

__all__ = ["CallWatch", "Observer", "OperationNaming", "build_observer", "load_otel"]

#: Seconds between two looks at the global tracer and meter providers.
_LOOK_AGAIN: Final = 1.0
#: How many (method, path) pairs an observer remembers the name and template of.
_DESCRIBED: Final = 4096
_VERBS: Final = {"POST": "create", "DELETE": "delete", "PUT": "update", "PATCH": "update"}


@dataclass(frozen=True, slots=True)
class OperationNaming:
    """How one API's paths map to operation names and URL templates. Pure.

    Paths alternate a collection and an ID under ``prefix``; an ID becomes ``{<ids[collection]>}``
    in the template (``{id}`` when the table has no name for it). The operation is
    ``<system>.<resource>.<verb>``: the last collection (renamed by ``resources``), and
    ``get``/``list`` for a GET on an item/a collection, ``create`` for POST, ``delete`` for
    DELETE. ``fixed`` names paths that do not follow the pattern.

    >>> naming = OperationNaming("ttg", "/api/v3", {"events": "eventId"})
    >>> naming.describe("GET", "/api/v3/events/1001")
    ('ttg.events.get', '/api/v3/events/{eventId}')
    >>> naming.describe("GET", "/api/v3/events")
    ('ttg.events.list', '/api/v3/events')
    """

    system: str
    prefix: str
    ids: Mapping[str, str] = field(default_factory=dict)
    resources: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)

    def describe(self, method: str, path: str) -> tuple[str, str]:
        """``(operation name, URL template)`` of a request; the query is never part of it."""
        path = path.split("?", 1)[0]
        fixed = self.fixed.get(path)
        if fixed is not None:
            return fixed, path
        if not path.startswith(self.prefix + "/"):
            return f"{self.system}.request", self.prefix + "/{path}"
        parts: list[str] = []
        resource = "request"
        on_item = False
        for index, segment in enumerate(path[len(self.prefix) + 1 :].split("/")):
            on_item = index % 2 == 1
            if on_item:
                parts.append("{" + self.ids.get(resource, "id") + "}")
            else:
                resource = segment
                parts.append(segment)
        verb = _VERBS.get(method.upper(), "get" if on_item else "list")
        name = self.resources.get(resource, resource)
        return f"{self.system}.{name}.{verb}", self.prefix + "/" + "/".join(parts)


class _Otel:
    """The parts of ``opentelemetry-api`` the watches use, imported once."""

    def __init__(self, trace: ModuleType, metrics: ModuleType) -> None:
        self.trace = trace
        self.metrics = metrics
        self.unset_tracers = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        self.noop_meters = metrics.NoOpMeterProvider
        self.error = trace.Status(trace.StatusCode.ERROR)
        self.client = trace.SpanKind.CLIENT


_LOADED: list[_Otel | None] = []


def load_otel() -> _Otel | None:
    """``opentelemetry-api``, or ``None`` when it is not installed (then only hooks work)."""
    if not _LOADED:
        try:
            loaded: _Otel | None = _Otel(
                importlib.import_module("opentelemetry.trace"),
                importlib.import_module("opentelemetry.metrics"),
            )
        except ImportError:
            loaded = None
        _LOADED.append(loaded)
    return _LOADED[0]


def _unset_meter_provider(otel: _Otel, provider: object) -> bool:
    # Until a program sets a meter provider, the API hands out a private proxy class; a name
    # check is enough (should it change, metrics are recorded into the proxy: slower, right).
    return isinstance(provider, otel.noop_meters) or type(provider).__name__ in {
        "_ProxyMeterProvider",
        "ProxyMeterProvider",
    }


class _Instruments:
    """The metric instruments of one meter."""

    __slots__ = ("coalesced", "duration", "gate_wait", "hits", "retries")

    def __init__(self, meter: Any) -> None:
        self.duration = meter.create_histogram(
            "http.client.request.duration", unit="s", description="Duration of HTTP attempts"
        )
        self.retries = meter.create_counter(
            "ttg.client.retries", unit="{retry}", description="Attempts sent again after a failure"
        )
        self.gate_wait = meter.create_histogram(
            "ttg.client.gate_wait",
            unit="s",
            description="Time an attempt waited behind the client's 429 gate",
        )
        self.hits = meter.create_counter(
            "ttg.client.cache.hits", unit="{call}", description="Calls answered from the cache"
        )
        self.coalesced = meter.create_counter(
            "ttg.client.coalesced",
            unit="{call}",
            description="Calls that shared another call's request",
        )


class Observer:
    """The hooks and OpenTelemetry settings of one client; `begin` watches one call.

    >>> observer = Observer(None, naming, "https://api.example.com", telemetry=True)
    >>> observer.begin("GET", "/api/v3/events/1", "req_1") is None  # no provider set
    True
    """

    __slots__ = (
        "_described",
        "_global_instruments",
        "_global_tracer",
        "_instruments",
        "_look_again_at",
        "_own_instruments",
        "_own_tracer",
        "_seen_meter_provider",
        "_seen_tracer_provider",
        "_tracer",
        "hooks",
        "naming",
        "otel",
        "server",
    )

    def __init__(
        self,
        hooks: EventHooks | None,
        naming: OperationNaming,
        base_url: str,
        *,
        telemetry: bool,
        tracer_provider: object = None,
        meter_provider: object = None,
    ) -> None:
        self.hooks = hooks
        self.naming = naming
        split = urlsplit(base_url)
        port = split.port or (443 if split.scheme == "https" else 80)
        self.server: dict[str, str | int] = {
            "server.address": split.hostname or "",
            "server.port": port,
        }
        self.otel = load_otel() if telemetry else None
        self._own_tracer: Any = None
        self._own_instruments: _Instruments | None = None
        self._seen_tracer_provider: object = None
        self._seen_meter_provider: object = None
        self._global_tracer: Any = None
        self._global_instruments: _Instruments | None = None
        self._tracer: Any = None
        self._instruments: _Instruments | None = None
        self._look_again_at = -math.inf
        self._described: dict[tuple[str, str], tuple[str, str]] = {}
        if self.otel is not None:
            if tracer_provider is not None:
                self._own_tracer = _tracer_of(tracer_provider)
            if meter_provider is not None:
                self._own_instruments = _Instruments(_meter_of(meter_provider))

    @property
    def enabled(self) -> bool:
        """Whether a call may be watched at all (hooks, or OpenTelemetry importable)."""
        return self.hooks is not None or self.otel is not None

    def describe(self, method: str, path: str) -> tuple[str, str]:
        """`OperationNaming.describe`, remembered for the last few thousand paths (a service
        asks for the same events again and again; a crawl only refills the table)."""
        key = (method, path)
        found = self._described.get(key)
        if found is None:
            found = self.naming.describe(method, path)
            if len(self._described) >= _DESCRIBED:
                self._described.clear()
            self._described[key] = found
        return found

    def _refresh(self, otel: _Otel) -> None:
        """Look at the global providers again (each look reads the environment twice)."""
        if self._own_tracer is not None:
            self._tracer = self._own_tracer
        else:
            provider = otel.trace.get_tracer_provider()
            if provider is not self._seen_tracer_provider:
                self._seen_tracer_provider = provider
                self._global_tracer = (
                    None if isinstance(provider, otel.unset_tracers) else _tracer_of(provider)
                )
            self._tracer = self._global_tracer
        if self._own_instruments is not None:
            self._instruments = self._own_instruments
        else:
            provider = otel.metrics.get_meter_provider()
            if provider is not self._seen_meter_provider:
                self._seen_meter_provider = provider
                self._global_instruments = (
                    None
                    if _unset_meter_provider(otel, provider)
                    else _Instruments(_meter_of(provider))
                )
            self._instruments = self._global_instruments

    def _look(self, otel: _Otel) -> None:
        now = time.monotonic()
        if now >= self._look_again_at:
            # Asking the API for its global providers costs about 2 us (it reads os.environ
            # twice), a call's 1%: a provider set later (they are set once, at start-up) is
            # seen within a second.
            self._look_again_at = now + _LOOK_AGAIN
            self._refresh(otel)

    def begin(self, method: str, path: str, request_id: str) -> CallWatch | None:
        """A watch over one call, or ``None`` when nothing would see it."""
        otel = self.otel
        if otel is not None:
            if time.monotonic() >= self._look_again_at:  # `_look`, without a call per call
                self._look(otel)
            if self._tracer is not None or self._instruments is not None:
                return CallWatch(self, method, path, request_id, self._tracer, self._instruments)
        if self.hooks is None:
            return None
        return CallWatch(self, method, path, request_id, None, None)

    def _count(self, which: str, method: str, path: str) -> None:
        otel = self.otel
        if otel is None:
            return
        self._look(otel)
        instruments = self._instruments
        if instruments is not None:
            _, template = self.describe(method, path)
            attributes = {"http.request.method": method, "url.template": template}
            getattr(instruments, which).add(1, attributes)

    def cache_hit(self, method: str, path: str) -> None:
        """Count a call answered from the response cache (``ttg.client.cache.hits``)."""
        self._count("hits", method, path)

    def coalesced(self, method: str, path: str) -> None:
        """Count a call that shared another's request in flight (``ttg.client.coalesced``)."""
        self._count("coalesced", method, path)


def _tracer_of(provider: Any) -> Any:
    return provider.get_tracer("ttg_async", __version__)


def _meter_of(provider: Any) -> Any:
    return provider.get_meter("ttg_async", __version__)


class _AttemptWatch:
    __slots__ = ("number", "span", "started")

    def __init__(self, number: int, span: Any) -> None:
        self.number = number
        self.span = span
        self.started = time.perf_counter()


class CallWatch:
    """One call's span, attempt spans, metrics and hook events, in the order they happen."""

    __slots__ = (
        "_attempt_name",
        "_base",
        "_context",
        "_gate_waited",
        "_hooks",
        "_instruments",
        "_otel",
        "_tracer",
        "attempts",
        "method",
        "path",
        "request_id",
        "span",
    )

    def __init__(
        self,
        observer: Observer,
        method: str,
        path: str,
        request_id: str,
        tracer: Any,
        instruments: _Instruments | None,
    ) -> None:
        self.method = method
        self.path = path  # a RequestSpec path: the query travels apart, in spec.query
        self.request_id = request_id
        self.attempts = 0
        self._hooks = observer.hooks
        self._otel = observer.otel
        self._instruments = instruments
        self._gate_waited = 0.0
        self._tracer = tracer
        self.span: Any = None
        self._context: Any = None
        self._base: dict[str, str | int] = {}
        self._attempt_name = ""
        if tracer is None and instruments is None:
            return  # hooks alone: they need no name and no template
        operation, template = observer.describe(method, path)
        self._base = {"http.request.method": method, "url.template": template, **observer.server}
        self._attempt_name = f"{method} {template}"
        if tracer is not None and self._otel is not None:
            span = tracer.start_span(
                operation, attributes={**self._base, "ttg.request_id": request_id}
            )
            # A call the sampler dropped gets no attempt spans (they would be dropped too).
            if span.is_recording():
                self.span = span
                self._context = self._otel.trace.set_span_in_context(span)

    async def attempt_started(self, number: int) -> _AttemptWatch:
        """Attempt ``number`` (from 1) is about to be sent: its span starts, hooks are told."""
        self.attempts = number
        span = None
        if self._context is not None:
            assert self._otel is not None
            attributes: dict[str, str | int] = dict(self._base)
            if number > 1:
                attributes["http.request.resend_count"] = number - 1
            span = self._tracer.start_span(
                self._attempt_name,
                context=self._context,
                kind=self._otel.client,
                attributes=attributes,
            )
        watch = _AttemptWatch(number, span)
        hooks = self._hooks
        if hooks is not None and hooks.request:
            await hooks.emit(
                hooks.request, RequestEvent(self.method, self.path, number, self.request_id)
            )
        return watch

    async def attempt_ended(
        self, attempt: _AttemptWatch, status: int | None, error: BaseException | None
    ) -> None:
        """The attempt got ``status`` (``None``: no answer) and failed with ``error``, if any."""
        elapsed = time.perf_counter() - attempt.started
        self._close_attempt(attempt, status, error, elapsed)
        hooks = self._hooks
        if status is not None and hooks is not None and hooks.response:
            event = ResponseEvent(
                self.method, self.path, attempt.number, self.request_id, status, elapsed
            )
            await hooks.emit(hooks.response, event)

    def attempt_abandoned(self, attempt: _AttemptWatch, error: BaseException) -> None:
        """The attempt was cancelled (or failed with no TTG error): close it, tell no hook."""
        self._close_attempt(attempt, None, error, time.perf_counter() - attempt.started)

    def _close_attempt(
        self,
        attempt: _AttemptWatch,
        status: int | None,
        error: BaseException | None,
        elapsed: float,
    ) -> None:
        kind = _error_type(status, error)
        span = attempt.span
        if span is not None:
            if status is not None:
                span.set_attribute("http.response.status_code", status)
            if kind is not None:
                span.set_attribute("error.type", kind)
                assert self._otel is not None
                span.set_status(self._otel.error)
            span.end()
        if self._instruments is not None:
            attributes = dict(self._base)
            if status is not None:
                attributes["http.response.status_code"] = status
            if kind is not None:
                attributes["error.type"] = kind
            self._instruments.duration.record(elapsed, attributes)

    async def retrying(self, attempt: int, error: BaseException, wait: float) -> None:
        """Attempt ``attempt`` failed with ``error``; the call waits ``wait`` s, then resends."""
        kind = type(error).__name__
        if self._instruments is not None:
            self._instruments.retries.add(
                1,
                {
                    "http.request.method": self.method,
                    "url.template": self._base["url.template"],
                    "error.type": kind,
                },
            )
        if self.span is not None:
            self.span.add_event(
                "ttg.retry", {"ttg.attempt": attempt, "ttg.wait": wait, "error.type": kind}
            )
        hooks = self._hooks
        if hooks is not None and hooks.retry:
            event = RetryEvent(self.method, self.path, attempt, self.request_id, error, wait)
            await hooks.emit(hooks.retry, event)

    def gate_waited(self, seconds: float) -> None:
        """An attempt waited ``seconds`` behind the client's 429 gate."""
        if seconds <= 0:
            return
        self._gate_waited += seconds
        if self._instruments is not None:
            self._instruments.gate_wait.record(seconds, self._base)

    def end(self, error: BaseException | None) -> None:
        """The call is over: it returned (``error`` is ``None``) or raised ``error``."""
        span = self.span
        if span is None:
            return
        span.set_attribute("ttg.attempts", self.attempts)
        if self._gate_waited:
            span.set_attribute("ttg.gate_wait", self._gate_waited)
        if error is not None:
            assert self._otel is not None
            span.set_attribute("error.type", type(error).__name__)
            if isinstance(error, TTGError) and error.outcome_unknown:
                span.set_attribute("ttg.outcome_unknown", True)
            span.set_status(self._otel.error)
        span.end()


def _error_type(status: int | None, error: BaseException | None) -> str | None:
    """``error.type`` of an attempt: the status when it is an error (HTTP semantic
    conventions), else the exception's class name, else ``None``."""
    if status is not None and status >= 400:
        return str(status)
    if error is not None:
        return type(error).__name__
    return None


def build_observer(
    naming: OperationNaming,
    base_url: str,
    *,
    event_hooks: object,
    telemetry: object,
    tracer_provider: object,
    meter_provider: object,
) -> Observer:
    """A client's `Observer` from its constructor's arguments, checked.

    >>> build_observer(naming, "https://api.example.com", event_hooks=None, telemetry=True,
    ...                tracer_provider=None, meter_provider=None).hooks is None
    True
    """
    hooks = check_hooks(event_hooks)
    if not isinstance(telemetry, bool):
        raise ConfigurationError(
            f"must be a bool, not {type(telemetry).__name__}", field="telemetry"
        )
    return Observer(
        hooks,
        naming,
        base_url,
        telemetry=telemetry,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )
