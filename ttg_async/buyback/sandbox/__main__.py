"""``python -m ttg_async.buyback.sandbox``: serve the Buyback sandbox from a shell."""

import argparse
import sys

from ttg_async.buyback.sandbox._cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ttg_async.buyback.sandbox",
        description="Serve a local Ticket Buyback partner API sandbox.",
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
