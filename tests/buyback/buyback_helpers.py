"""Values the Buyback tests share (imported by name: ``conftest`` modules clash)."""

from __future__ import annotations

import datetime as dt

from ttg_async import RetryPolicy

START = dt.date(2030, 1, 1)
#: Tests never sleep between retries: waits are switched off by configuration.
FAST = RetryPolicy(backoff_base=0)
