"""The Ticket Buyback partner API: discover events, browse sections and rows, take a quote and
turn it into an order whose answer carries a ticket-transfer email.

It runs on the same core as :class:`ttg_async.TTGClient`: transport, retry policy, rate-limit
gate, pagination and the error tree are shared.

>>> from ttg_async.buyback import BuybackClient
>>> async with BuybackClient() as tbb:  # $TBB_CLIENT_ID, $TBB_CLIENT_SECRET
...     async for event in tbb.events.list(q="arena"):
...         print(event.event_id, event.event_name)

See ``docs/buyback.md`` for the whole flow.
"""

from ttg_async._core.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    GoneError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TTGError,
)
from ttg_async._core.pagination import Page, Paginator
from ttg_async._core.retry import RetryPolicy
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
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountSuspendedError",
    "AuthenticationError",
    "BuybackClient",
    "BuybackEvent",
    "BuybackOrder",
    "BuybackPerformer",
    "BuybackVenue",
    "ConfigurationError",
    "ConflictError",
    "GoneError",
    "InvalidCredentialsError",
    "InvalidRequestError",
    "NotFoundError",
    "Page",
    "Paginator",
    "PaymentNotConfiguredError",
    "PermissionDeniedError",
    "Quote",
    "QuoteAlreadyConsumedError",
    "QuoteEvent",
    "QuoteExpiredError",
    "RateLimitError",
    "ResponseDecodeError",
    "RetryPolicy",
    "Row",
    "Section",
    "ServerError",
    "TTGError",
    "TokenExpiredError",
]
