"""``python -m ttg_async.sandbox``: serve the sandbox from a shell."""

import argparse
import sys

from ttg_async.sandbox._cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ttg_async.sandbox", description="Serve a local TTG v3 sandbox."
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
