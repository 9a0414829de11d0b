"""The ``ttg sandbox`` command: serve the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import inspect
import sys

from ttg_async.sandbox._sandbox import TEST_KEY, Sandbox

# The command serves the same catalog as Sandbox() unless told otherwise.
_DEFAULTS = {
    name: parameter.default for name, parameter in inspect.signature(Sandbox).parameters.items()
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to ``parser`` (used by ``ttg sandbox``).

    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["--port", "0"]).port
    0
    """
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default 127.0.0.1); any other exposes the sandbox, and test keys, "
        "to the network, and it warns so on stderr",
    )
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any (default 8765)")
    parser.add_argument("--seed", type=int, default=0, help="catalog seed (default 0)")
    events, locations, hold = _DEFAULTS["events"], _DEFAULTS["locations"], _DEFAULTS["hold_seconds"]
    parser.add_argument(
        "--events", type=int, default=events, help=f"number of events (default {events})"
    )
    parser.add_argument(
        "--locations",
        type=int,
        default=locations,
        help=f"number of locations (default {locations})",
    )
    parser.add_argument(
        "--hold-seconds", type=float, default=hold, help=f"cart hold length (default {hold:g})"
    )
    parser.add_argument(
        "--retailer",
        action="append",
        default=None,
        metavar="NAME",
        help="accept only these X-TT-Retailer values (repeatable; default: any)",
    )
    parser.add_argument(
        "--paginate-occurrences",
        action="store_true",
        help="paginate the occurrences list (the docs say it is not)",
    )
    parser.add_argument(
        "--paginate-lists",
        type=int,
        default=0,
        metavar="N",
        help="as the API reference has it: occurrences and inventory require limit and offset "
        "and come N at most a page (default 0: off)",
    )
    parser.add_argument(
        "--minimal-orders",
        action="store_true",
        help="send orders without status, total, confirmationNumber or createdAt",
    )
    parser.add_argument(
        "--start-date",
        type=dt.date.fromisoformat,
        default=None,
        help="first day of the schedule, YYYY-MM-DD (default: today)",
    )
    parser.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay every answer by this many seconds, e.g. 0.02 (default 0)",
    )
    parser.add_argument(
        "--unknown-variant-type",
        default=None,
        metavar="NAME",
        help="send every extra with this inventoryVariant._type (one clients do not know)",
    )
    parser.add_argument(
        "--rate-code",
        action="append",
        default=None,
        metavar="CODE",
        help="configure this rate code, 10%% off, on every event (repeatable)",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < 3600:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Serve a sandbox built from ``args`` until interrupted; returns the exit status."""
    sandbox = Sandbox(
        args.seed,
        locations=args.locations,
        events=args.events,
        hold_seconds=args.hold_seconds,
        retailers=args.retailer,
        paginate_occurrences=args.paginate_occurrences,
        paginate_lists=args.paginate_lists or False,
        minimal_orders=args.minimal_orders,
        start_date=args.start_date,
        unknown_variant_type=args.unknown_variant_type,
    )
    if args.latency > 0:
        sandbox.set_latency("*", args.latency)
    for code in args.rate_code or ():
        sandbox.add_rate_code("*", code)
    retailer = args.retailer[0] if args.retailer else "sandbox"
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(sandbox, args.host, args.port, retailer))
    return 0


def client_url(host: str, base_url: str) -> str:
    """The URL a client on this machine should use: loopback for a wildcard ``host``.

    The client sends the key in a header, so it accepts plain ``http://`` on loopback only;
    ``http://0.0.0.0:8765`` would be refused.

    >>> client_url("0.0.0.0", "http://0.0.0.0:8765")
    'http://127.0.0.1:8765'
    """
    port = base_url.rsplit(":", 1)[1]
    if host in ("0.0.0.0", ""):
        return f"http://127.0.0.1:{port}"
    if host == "::":
        return f"http://[::1]:{port}"
    return base_url


async def _serve(sandbox: Sandbox, host: str, port: int, retailer: str) -> None:
    async with sandbox.serve(host, port) as served:
        base_url = client_url(host, served)
        print(f"TTG sandbox listening on {base_url}", flush=True)
        if base_url != served:
            print(
                f"(bound to {served}: other machines reach it there, but the client accepts "
                "plain http only on loopback; put an https proxy in front for them)"
            )
        print(f"Test key: {TEST_KEY} (any sk_test_* key works)")
        print("Every request needs these headers, e.g.:")
        print(
            f'  curl -H "X-TT-API-Key: {TEST_KEY}" -H "X-TT-Retailer: {retailer}" '
            f'-H "X-TT-Platform: api" {base_url}/api/v3/locations'
        )
        print("Use it with:")
        print(f"  export TTG_BASE_URL={base_url}")
        print(f"  export TTG_API_KEY={TEST_KEY}")
        print(f"  export TTG_RETAILER={retailer}")
        print("Press Ctrl-C to stop.", flush=True)
        sys.stdout.flush()
        await asyncio.Event().wait()
