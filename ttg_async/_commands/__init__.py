"""The ``ttg`` commands that talk to TTG: browsing, rate-code comparison, the crawl and the sync.

``ttg_async._cli`` builds the parser and hands these commands to `run`. Every command
prints one line and exits with a status (0 OK, 1 API or network error, 2 bad usage) instead
of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ttg_async._commands._common import EXIT_USAGE, guarded

__all__ = ["add_commands", "run"]

_NEEDS_RICH = "needs the cli extra: python -m pip install 'ttg_async[cli]'"


def add_commands(commands: Any) -> None:
    """Add ``locations``, ``events``, ``occurrences``, ``inventory``, ``prices``, ``crawl``,
    ``sync``.

    >>> parser = argparse.ArgumentParser(prog="ttg")
    >>> add_commands(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["events", "1"]).location_id
    '1'
    """
    from ttg_async._commands._browse import add_commands as add_browse
    from ttg_async._commands._crawl import add_command as add_crawl
    from ttg_async._commands._sync import add_command as add_sync

    add_browse(commands)
    add_crawl(commands)
    add_sync(commands)


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` was parsed for; returns the exit status."""
    command = args.command_run

    def go() -> int:
        try:
            status: int = command(args)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != "rich":
                raise
            print(f"ttg {args.command} {_NEEDS_RICH}", file=sys.stderr)
            return EXIT_USAGE
        return status

    return guarded(go, json=bool(getattr(args, "json", False)))
