"""What every browsing command shares: connection options, the client, output and errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TextIO

import msgspec

from ttg_async._core.errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    ResponseDecodeError,
    TTGError,
)
from ttg_async._ttg.client import TTGClient
from ttg_async._ttg.models import Money

if TYPE_CHECKING:
    from rich.console import Console

#: Exit statuses, as ``gh`` uses them: 1 for a failure of the API or the network, 2 for a
#: command line (or configuration) that cannot work as given.
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

_json: Final = msgspec.json.Encoder()


class UsageError(Exception):
    """A command line that cannot work as given: printed in one line, exit status 2."""


def connection_options() -> argparse.ArgumentParser:
    """A parent parser with the options every command that talks to TTG takes."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (flags win over the environment)")
    group.add_argument("--api-key", metavar="KEY", help="API key (default: $TTG_API_KEY)")
    group.add_argument("--retailer", metavar="ID", help="retailer ID (default: $TTG_RETAILER)")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="server (default: $TTG_BASE_URL, else the key's environment)",
    )
    group.add_argument(
        "--locale",
        default="en_US",
        help="locale for money and messages, e.g. en_GB or de_DE (default en_US)",
    )
    return parent


def json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as one JSON document (camelCase fields, as the API sends them)",
    )


def check_locale(name: str) -> str:
    """Refuse an unknown locale before any request, naming it."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError, TypeError):
        raise UsageError(f"--locale: unknown locale {name!r} (try en_US, en_GB, de_DE)") from None
    return name


def make_client(args: argparse.Namespace) -> TTGClient:
    """A client from the flags, falling back to ``$TTG_*``; bad values are usage errors."""
    language = args.locale.replace("_", "-")
    return TTGClient(
        args.api_key,
        args.retailer,
        base_url=args.base_url,
        accept_language=language,
    )


def money(value: Money | None, locale: str) -> str:
    """``$185.00``, ``¥18,500``, ``KWD 18.500``: in the currency's own scale."""
    return "—" if value is None else value.format(locale)


def to_builtins(value: object) -> Any:
    """A model (or anything msgspec encodes) as plain JSON values, with wire names."""
    return msgspec.json.decode(_json.encode(value))


def error_json(error: TTGError) -> dict[str, Any]:
    """An error as it goes into JSON output: enough to tell what and where."""
    data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
    if isinstance(error, APIError):
        data.update(status=error.status, code=error.code)
    data["requestId"] = error.request_id
    return data


def print_json(document: object, out: TextIO | None = None) -> None:
    stream = out if out is not None else sys.stdout
    stream.write(_json.encode(document).decode())
    stream.write("\n")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def one_line(error: BaseException) -> str:
    """``ttg: NotFoundError: 404 RESOURCE_NOT_FOUND: ... (GET /api/v3/events/9) (request_id=…)``"""
    text = " ".join(str(error).split())  # a message never spans lines
    return f"ttg: {type(error).__name__}: {text}" if text else f"ttg: {type(error).__name__}"


def guarded(run: Callable[[], int]) -> int:
    """Run a command; any error becomes one line on stderr and an exit status, never a trace."""
    try:
        return run()
    except KeyboardInterrupt:
        print("ttg: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        print(f"ttg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:
        print(one_line(exc), file=sys.stderr)
        return EXIT_USAGE
    except (APIError, APIConnectionError, ResponseDecodeError, TTGError) as exc:
        print(one_line(exc), file=sys.stderr)
        return EXIT_FAILED
    except (TypeError, ValueError) as exc:
        # Argument checks of the SDK (an empty ID, a rate code too long): the caller's input.
        print(f"ttg: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"ttg: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
