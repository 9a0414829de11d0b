"""The ``ttg`` command: browse the catalog, compare rate codes, crawl, demo and sandboxes.

``ttg locations``, ``events``, ``occurrences``, ``inventory``, ``prices`` and ``crawl`` live in
``ttg_async._commands``; ``ttg demo`` in ``ttg_async._demo``; ``ttg sandbox`` and
``ttg buyback sandbox`` in the sandboxes' own ``_cli`` modules. Exit status: 0 OK, 1 an API,
network or server error, 2 a command line that cannot work as given; every error is one line
on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import re
import sys
from collections.abc import Sequence
from typing import Final, NoReturn

from ttg_async._commands._common import CommandParser
from ttg_async._core.logs import redact_secrets

__all__ = ["main"]

_NEEDS_RICH = "needs the cli extra: python -m pip install 'ttg_async[cli]'"


def _rich_missing(error: ModuleNotFoundError, command: str) -> bool:
    """Say, in one line, that ``command`` needs rich; true when that was the problem."""
    if error.name is None or error.name.split(".")[0] != "rich":
        return False
    print(f"ttg {command} {_NEEDS_RICH}", file=sys.stderr)
    return True


#: Options whose value is a secret, as spelled in full; any abbreviation argparse would take
#: for one (``--api``, ``--client-s``) counts too.
_SECRET_OPTIONS: Final = ("--api-key", "--client-secret")
#: Words that make any other option's value a secret (``--secret``, ``--token``,
#: ``--apikey``).
_SECRET_WORDS: Final = ("key", "secret", "token", "passw")


def _is_secret_option(name: str) -> bool:
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    if len(lowered) > 2 and any(option.startswith(lowered) for option in _SECRET_OPTIONS):
        return True
    # A typo of one (--api-kee, --client-secert) still carries the secret.
    return bool(difflib.get_close_matches(lowered, _SECRET_OPTIONS, n=1, cutoff=0.75))


def secrets_in(args: Sequence[str]) -> list[str]:
    """The values on a command line that follow an option naming a secret.

    >>> secrets_in(["events", "--client-secret", "hunter2", "--api-key=sk_test_x", "--json"])
    ['hunter2', 'sk_test_x']
    """
    found: list[str] = []
    for index, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        name, equals, value = arg.partition("=")
        if not _is_secret_option(name):
            continue
        if equals:
            found.append(value)
        elif index + 1 < len(args):
            found.append(args[index + 1])
    return [value for value in found if value]


def redact_argv(message: str, secrets: Sequence[str]) -> str:
    """``message`` with every secret in ``secrets`` (whole, as argparse quotes or lists it)
    and every API key, bearer token or labelled secret masked.

    >>> redact_argv("unrecognized arguments: --client-secret hunter2", ["hunter2"])
    'unrecognized arguments: --client-secret [redacted]'
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        for shown in (repr(secret), secret):
            pattern = rf"(?<![^\s'\"=]){re.escape(shown)}(?![^\s'\",])"
            message = re.sub(pattern, "[redacted]", message)
    return redact_secrets(message)


class _Parser(CommandParser):
    """The ``ttg`` parser (usage errors per command, JSON under ``--json``), and an error never
    echoes a secret given on the command line.

    argparse quotes a value its ``type=`` or ``choices`` refuses, and lists arguments it does
    not know: a key given to a command without ``--api-key``, or after a typo, would be
    printed to the terminal (and into CI logs). Subparsers are made of this class too.
    """

    _secrets: Sequence[str] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._secrets = secrets_in(sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        super().error(redact_argv(message, self._secrets))


def _parser() -> argparse.ArgumentParser:
    from ttg_async import __version__
    from ttg_async._commands import add_commands

    # add_subparsers passes the class down to every command: a bad flag is reported with the
    # command's own usage, as JSON under --json, and with any secret on the line masked.
    parser = _Parser(
        prog="ttg",
        description=(
            "ttg_async: the TTG API v3 from the command line. The key, retailer and server "
            "come from --api-key, --retailer and --base-url, or $TTG_API_KEY, $TTG_RETAILER "
            "and $TTG_BASE_URL. Exit status: 0 OK, 1 API or network error, 2 bad usage."
        ),
    )
    parser.add_argument("--version", action="version", version=f"ttg_async {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(commands)

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

    buyback = commands.add_parser(
        "buyback",
        help="Ticket Buyback: events, sections, rows, quote, order, sandbox",
        description="Ticket Buyback partner API tools.",
    )
    buyback_commands = buyback.add_subparsers(
        dest="buyback_command", required=True, metavar="COMMAND"
    )
    from ttg_async.buyback.sandbox._cli import add_arguments as add_buyback_arguments

    buyback_sandbox = buyback_commands.add_parser(
        "sandbox",
        help="serve the local Ticket Buyback sandbox",
        description="Serve the local Ticket Buyback partner API sandbox until interrupted.",
    )
    add_buyback_arguments(buyback_sandbox)
    from ttg_async.buyback._commands import add_commands as add_buyback_commands

    add_buyback_commands(buyback_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ttg`` console script."""
    args = _parser().parse_args(argv)
    if hasattr(args, "command_run"):
        from ttg_async._commands import run as run_command

        return run_command(args)
    from ttg_async._commands._common import guarded

    if args.command == "buyback" and hasattr(args, "buyback_run"):
        from ttg_async.buyback._commands import run as run_buyback_command

        return run_buyback_command(args)
    if args.command == "buyback":
        from ttg_async.buyback.sandbox._cli import run as run_buyback

        return guarded(lambda: int(run_buyback(args)))
    if args.command == "demo":
        try:
            from ttg_async._demo import run_demo
        except ModuleNotFoundError as exc:
            if _rich_missing(exc, "demo"):
                return 2
            raise

        return guarded(
            lambda: asyncio.run(
                run_demo(
                    base_url=args.base_url,
                    seed=args.seed,
                    locale=args.locale,
                    location=args.location,
                )
            )
        )
    from ttg_async.sandbox._cli import run

    return guarded(lambda: int(run(args)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
