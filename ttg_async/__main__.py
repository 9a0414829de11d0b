"""``python -m ttg_async``: the same as the ``ttg`` command (``demo``, ``sandbox``)."""

import sys

from ttg_async._cli import main

sys.exit(main())
