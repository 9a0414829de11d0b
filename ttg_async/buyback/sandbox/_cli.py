"""The ``ttg buyback sandbox`` command: serve the Buyback sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import sys
from urllib.parse import urlsplit, urlunsplit

from ttg_async._core.config import is_loopback
from ttg_async.buyback.sandbox._sandbox import TEST_CLIENT_ID, BuybackSandbox
from ttg_async.buyback.sandbox._state import DOCS_VERSIONS, TEST_SECRET


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
        "--docs-version",
        choices=DOCS_VERSIONS,
        default="routable",
        help="the published API version to follow (default routable, the seed's)",
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
            docs_version=args.docs_version,
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


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host in ("", "*")


def client_url(base_url: str, host: str) -> str:
    """The URL a client on this machine should use: bound to every interface
    (``0.0.0.0``, ``::``), the server answers on loopback too, and plain ``http://`` is
    accepted by ``BuybackClient`` only there.

    >>> client_url("http://0.0.0.0:8766/partner", "0.0.0.0")
    'http://127.0.0.1:8766/partner'
    >>> client_url("http://[::]:8766/partner", "::")
    'http://[::1]:8766/partner'
    """
    if not _wildcard(host):
        return base_url
    parts = urlsplit(base_url)
    loopback = "[::1]" if ":" in host else "127.0.0.1"
    return urlunsplit(parts._replace(netloc=f"{loopback}:{parts.port}"))


def banner(base_url: str, host: str, docs_version: str = "routable") -> list[str]:
    """The lines printed when the sandbox is up; warnings go first, to stderr's reader too."""
    url = client_url(base_url, host)
    lines: list[str] = []
    if not is_loopback(host):
        lines += [
            "WARNING: the sandbox listens beyond loopback (--host " + host + ").",
            "WARNING: anyone who can reach this machine can use it: every tbb_test_* ID",
            f"WARNING: works with the secret {TEST_SECRET!r}. Use 127.0.0.1 unless you mean it.",
        ]
        if not _wildcard(host):
            lines.append(
                "WARNING: BuybackClient accepts plain http:// only on loopback; from another "
                "machine, put TLS in front of it (an https:// proxy or tunnel)."
            )
    lines += [
        f"Ticket Buyback sandbox ({docs_version} docs) listening on {base_url}",
        f"Any client ID starting tbb_test_ works with the secret {TEST_SECRET!r}.",
        "Use it with:",
        f"  export TBB_BASE_URL={url}",
        f"  export TBB_CLIENT_ID={TEST_CLIENT_ID}",
        f"  export TBB_CLIENT_SECRET={TEST_SECRET}",
        "Press Ctrl-C to stop.",
    ]
    return lines


async def _serve(sandbox: BuybackSandbox, host: str, port: int) -> None:
    async with sandbox.serve(host, port) as base_url:
        for line in banner(base_url, host, sandbox.docs_version):
            stream = sys.stderr if line.startswith("WARNING") else sys.stdout
            print(line, file=stream, flush=True)
        await asyncio.Event().wait()
