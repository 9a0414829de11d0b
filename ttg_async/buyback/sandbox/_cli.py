"""The ``ttg buyback sandbox`` command: serve the Buyback sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys

from ttg_async.buyback.sandbox._sandbox import TEST_CLIENT_ID, BuybackSandbox
from ttg_async.buyback.sandbox._state import TEST_SECRET


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Buyback sandbox's options to ``parser`` (used by ``ttg buyback sandbox``).

    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser)
    >>> parser.parse_args(["--port", "0"]).port
    0
    """
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8766, help="port, 0 for any (default 8766)")
    parser.add_argument("--seed", type=int, default=0, help="catalog seed (default 0)")
    parser.add_argument("--events", type=int, default=24, help="number of events (default 24)")
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=3600.0,
        help="seconds an access token lives (default 3600)",
    )
    parser.add_argument(
        "--quote-ttl", type=float, default=900.0, help="seconds a quote stays valid (default 900)"
    )
    parser.add_argument(
        "--start-date",
        type=dt.date.fromisoformat,
        default=None,
        help="the day before the first event, YYYY-MM-DD (default: today)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve a Buyback sandbox built from ``args`` until interrupted; returns the exit status.

    A bad option value or a port in use prints one line to stderr and returns 2 or 1.
    """
    try:
        sandbox = BuybackSandbox(
            args.seed,
            events=args.events,
            token_lifetime=args.token_lifetime,
            quote_ttl=args.quote_ttl,
            start_date=args.start_date,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(sandbox, args.host, args.port))
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"error: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    return 0


async def _serve(sandbox: BuybackSandbox, host: str, port: int) -> None:
    async with sandbox.serve(host, port) as base_url:
        print(f"Ticket Buyback sandbox listening on {base_url}")
        print(f"Any client ID starting tbb_test_ works with the secret {TEST_SECRET!r}.")
        print("Use it with:")
        print(f"  export TBB_BASE_URL={base_url}")
        print(f"  export TBB_CLIENT_ID={TEST_CLIENT_ID}")
        print(f"  export TBB_CLIENT_SECRET={TEST_SECRET}")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
