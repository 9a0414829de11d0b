"""The ``ttg`` command: ``ttg demo`` and ``ttg sandbox``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

__all__ = ["main"]

_NEEDS_RICH = "needs the cli extra: python -m pip install 'ttg_async[cli]'"


def _rich_missing(error: ModuleNotFoundError, command: str) -> bool:
    """Say, in one line, that ``command`` needs rich; true when that was the problem."""
    if error.name is None or error.name.split(".")[0] != "rich":
        return False
    print(f"ttg {command} {_NEEDS_RICH}", file=sys.stderr)
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttg", description="ttg_async: the TTG API v3 from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="run the whole purchase flow against the embedded sandbox (or a real server)",
        description=(
            "Browse events, hold a cart and check out, then print the receipt and tickets. "
            "Without --base-url a sandbox runs in this process: no key or network needed. "
            "With --base-url, the key and retailer come from $TTG_API_KEY and $TTG_RETAILER."
        ),
    )
    demo.add_argument("--base-url", help="a TTG server to use instead of the embedded sandbox")
    demo.add_argument("--seed", type=int, default=0, help="catalog seed of the embedded sandbox")
    demo.add_argument("--locale", default="en_US", help="locale for money (default en_US)")
    demo.add_argument(
        "--location",
        metavar="ID",
        help="shop in this location (sandbox: 1 New York USD, 2 London GBP, 3 Tokyo JPY, "
        "4 Kuwait City KWD); default: the first with something on sale",
    )

    from ttg_async.sandbox._cli import add_arguments

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the local TTG sandbox",
        description="Serve the faithful local TTG v3 sandbox until interrupted.",
    )
    add_arguments(sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ttg`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        try:
            from ttg_async._demo import run_demo
        except ModuleNotFoundError as exc:
            if _rich_missing(exc, "demo"):
                return 2
            raise

        try:
            return asyncio.run(
                run_demo(
                    base_url=args.base_url,
                    seed=args.seed,
                    locale=args.locale,
                    location=args.location,
                )
            )
        except KeyboardInterrupt:
            return 130
    from ttg_async.sandbox._cli import run

    code: int = run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
