"""What every browsing command shares: connection options, the client, output and errors."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO

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


class CommandParser(argparse.ArgumentParser):
    """The parser of ``ttg`` and of each of its commands (``add_subparsers`` passes it down).

    Two things plain argparse does not do: a flag a command does not know is reported with
    *that command's* usage (argparse hands it up to ``ttg`` and prints the top-level usage),
    and with ``--json`` on the command line a usage error is one JSON object on stderr, like
    every other error; the exit status stays 2.
    """

    _json_errors = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        given = sys.argv[1:] if args is None else list(args)
        self._json_errors = "--json" in given
        parsed, extras = super().parse_known_args(given, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        if self._json_errors:
            usage = " ".join(self.format_usage().split())
            error = {"type": "UsageError", "message": message, "usage": usage}
            print_json({"error": error}, sys.stderr)
            self.exit(EXIT_USAGE)
        super().error(message)


#: The ``ttg`` flag of each client argument, so that a message names what to type.
_FLAGS: Final = {
    "api_key": "--api-key",
    "retailer": "--retailer",
    "base_url": "--base-url",
    "accept_language": "--locale",
    "client_id": "--client-id",
}

#: The command-line name of each resource argument the SDK may name in a ValueError or
#: TypeError (``location_id: must be a non-empty string``).
_ARGUMENTS: Final = {
    "location_id": "LOCATION_ID",
    "event_id": "EVENT_ID",
    "occurrence_id": "OCCURRENCE_ID",
    "provider_code": "--rate-code",
    "provider_codes": "--rate-code",
    "section_name": "SECTION_NAME",
    "quote_id": "QUOTE_ID",
    "row_name": "--row",
    "delivery_deadline": "--deadline",
    "delivery_type": "--delivery-type",
    "is_ready_to_deliver": "--ready/--not-ready",
    "in_hand_date": "--in-hand-date",
    "file": "--file",
}
_ARGUMENT_PREFIX: Final = re.compile(r"^(?P<name>[a-z_]+)(?:\[\d+\])?: ")


def cli_message(error: BaseException) -> str:
    """``str(error)``, with the Python argument names of the SDK replaced by ``ttg``'s flags.

    >>> cli_message(ConfigurationError("is required (pass api_key= or set $TTG_API_KEY)",
    ...                                field="api_key"))
    '--api-key: is required (pass --api-key or set $TTG_API_KEY)'
    """
    text = str(error)
    if isinstance(error, (TypeError, ValueError)) and not isinstance(error, ConfigurationError):
        prefix = _ARGUMENT_PREFIX.match(text)
        if prefix is not None and prefix.group("name") in _ARGUMENTS:
            return f"{_ARGUMENTS[prefix.group('name')]}: {text[prefix.end() :]}"
        return text
    field = getattr(error, "field", None)
    if not isinstance(error, ConfigurationError) or field is None:
        return text
    flag = _FLAGS.get(field)
    if flag is not None:
        text = text.replace(f"pass {field}= or", f"pass {flag} or")
        if text.startswith(f"{field}: "):
            text = flag + text[len(field) :]
    elif field == "client_secret":
        # No flag on purpose: a secret on the command line shows in the process list.
        text = text.replace("pass client_secret= or set", "set")
    elif field == "checkpoint":
        text = text.replace("delete it to start over", "pass --overwrite to start over")
    return text


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
        help=(
            f"print {what} as one JSON document (camelCase fields, as the TTG API sends "
            "them); an error is then one JSON object on stderr"
        ),
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


def error_json(error: BaseException, *, snake_case: bool = False) -> dict[str, Any]:
    """An error as it goes into JSON output: enough to tell what and where.

    ``type`` and ``message`` always; ``status`` and ``code`` for an API error; the request ID
    for anything that came from a call (``requestId``, or ``request_id`` for the Buyback
    commands, whose output keeps that API's snake_case).

    >>> error_json(UsageError("--locale: unknown locale 'xx'"))
    {'type': 'UsageError', 'message': "--locale: unknown locale 'xx'"}
    """
    message = error.message if isinstance(error, TTGError) else cli_message(error)
    if isinstance(error, ConfigurationError):
        message = cli_message(error)
    data: dict[str, Any] = {"type": type(error).__name__, "message": message}
    if isinstance(error, APIError):
        data.update(status=error.status, code=error.code)
    if isinstance(error, TTGError) and not isinstance(error, ConfigurationError):
        data["request_id" if snake_case else "requestId"] = error.request_id
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
    text = " ".join(cli_message(error).split())  # a message never spans lines
    return f"ttg: {type(error).__name__}: {text}" if text else f"ttg: {type(error).__name__}"


def guarded(run: Callable[[], int], *, json: bool = False, snake_case: bool = False) -> int:
    """Run a command; any error becomes one line on stderr and an exit status, never a trace.

    With ``json`` (the command's ``--json``), the error is instead one JSON object on stderr,
    ``{"error": {"type", "message", ...}}`` (see `error_json`); the exit status is the same.
    """

    def report(error: BaseException, line: str, status: int) -> int:
        if json:
            print_json({"error": error_json(error, snake_case=snake_case)}, sys.stderr)
        else:
            print(line, file=sys.stderr)
        return status

    try:
        return run()
    except KeyboardInterrupt as exc:
        return report(exc, "ttg: interrupted", EXIT_INTERRUPTED)
    except UsageError as exc:
        return report(exc, f"ttg: {exc}", EXIT_USAGE)
    except ConfigurationError as exc:
        return report(exc, one_line(exc), EXIT_USAGE)
    except (APIError, APIConnectionError, ResponseDecodeError, TTGError) as exc:
        return report(exc, one_line(exc), EXIT_FAILED)
    except (TypeError, ValueError) as exc:
        # Argument checks of the SDK (an empty ID, a rate code too long): the caller's input.
        return report(exc, f"ttg: {cli_message(exc)}", EXIT_USAGE)
    except OSError as exc:
        return report(exc, f"ttg: {type(exc).__name__}: {exc}", EXIT_FAILED)
