"""Money: an integer amount in minor units plus an ISO 4217 currency code.

The scale (how many minor units make one major unit) belongs to the currency, so it is looked up
in babel's CLDR data rather than assumed to be 2: USD has 2, JPY has 0, KWD has 3.

>>> Money(18500, "USD").decimal
Decimal('185.00')
>>> Money(18500, "JPY").format()
'¥18,500'
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from babel import Locale
from babel.numbers import format_currency, get_currency_precision

__all__ = ["Money"]


# Money cannot subclass ttg_async._ttg.models.Model (that module imports this one), so it
# repeats the settings that matter here: frozen, and camelCase wire names (both fields are one
# word anyway).
class Money(msgspec.Struct, frozen=True, rename="camel"):
    """An amount of money as the API sends it: integer minor units and a currency code.

    There is never a float in a ``Money``. ``amount`` is an ``int`` (``18500`` USD is $185.00),
    and :attr:`decimal` gives the exact major-unit value for arithmetic or display.

    >>> price = Money(18500, "USD")
    >>> price.decimal
    Decimal('185.00')
    >>> price.format()
    '$185.00'
    >>> Money(18500, "KWD").decimal
    Decimal('18.500')
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # msgspec already enforces ``int`` when decoding; this guards hand-built values, where
        # ``True`` or ``185.0`` would otherwise slip through.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"amount: must be an int in minor units, got {self.amount!r}")
        if not isinstance(self.currency, str) or not self.currency:
            raise ValueError(f"currency: must be a non-empty ISO 4217 code, got {self.currency!r}")

    @property
    def scale(self) -> int:
        """Decimal places of :attr:`currency`, from babel (which says 2 for a code it lacks).

        >>> Money(1, "JPY").scale, Money(1, "USD").scale, Money(1, "KWD").scale
        (0, 2, 3)
        """
        return int(get_currency_precision(self.currency))

    @property
    def decimal(self) -> Decimal:
        """The amount in major units as an exact :class:`~decimal.Decimal`.

        >>> Money(12345, "GBP").decimal
        Decimal('123.45')
        """
        # Built from a string so no arithmetic context (and no rounding) is involved.
        return Decimal(f"{self.amount}e-{self.scale}")

    def format(self, locale: str | Locale = "en_US") -> str:
        """Format for display in ``locale`` with babel, e.g. ``"$185.00"`` or ``"185,00 €"``.

        >>> Money(18500, "EUR").format("de_DE")
        '185,00\\xa0€'
        """
        return str(format_currency(self.decimal, self.currency, locale=locale))
