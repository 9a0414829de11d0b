"""The Ticket Buyback partner API: discover events, browse sections and rows, take a quote and
turn it into an order whose answer carries a ticket-transfer email.

It runs on the same core as [`ttg_async.TTGClient`][ttg_async.TTGClient]: transport, retry policy,
rate-limit gate, pagination and the error tree are shared, and importable from ``ttg_async``
(``RetryPolicy``, ``APIError`` and its subclasses, ``Paginator``).

>>> from ttg_async.buyback import BuybackClient
>>> async with BuybackClient() as tbb:  # $TBB_CLIENT_ID, $TBB_CLIENT_SECRET
...     async for event in tbb.events.list(q="arena"):
...         print(event.event_id, event.event_name)

See ``docs/buyback.md`` for the whole flow.
"""

from ttg_async.buyback._client import BuybackClient
from ttg_async.buyback._errors import (
    AccountSuspendedError,
    InvalidCredentialsError,
    PaymentNotConfiguredError,
    QuoteAlreadyConsumedError,
    QuoteExpiredError,
    TokenExpiredError,
)
from ttg_async.buyback._models import (
    BuybackEvent,
    BuybackOrder,
    BuybackPerformer,
    BuybackVenue,
    Quote,
    QuoteEvent,
    Row,
    Section,
)
from ttg_async.buyback._resources import DELIVERY_TYPES

__all__ = [
    "DELIVERY_TYPES",
    "AccountSuspendedError",
    "BuybackClient",
    "BuybackEvent",
    "BuybackOrder",
    "BuybackPerformer",
    "BuybackVenue",
    "InvalidCredentialsError",
    "PaymentNotConfiguredError",
    "Quote",
    "QuoteAlreadyConsumedError",
    "QuoteEvent",
    "QuoteExpiredError",
    "Row",
    "Section",
    "TokenExpiredError",
]
