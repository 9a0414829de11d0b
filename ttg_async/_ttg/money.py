"""Money: an integer amount in minor units plus an ISO 4217 currency code.

The scale (how many minor units make one major unit) belongs to the currency, so it is looked up
in babel's CLDR data rather than assumed to be 2: USD has 2, JPY has 0, KWD has 3.

>>> Money(18500, "USD").decimal
Decimal('185.00')
>>> Money(18500, "JPY").format()
'¥18,500'
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Final

import msgspec
from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

__all__ = ["Money"]

_ISO_CODE: Final = re.compile(r"[A-Z]{3}")
_KNOWN_CODES: Final = frozenset(list_currencies())


class _MoneyMeta(msgspec.StructMeta):
    """Checks the currency of a Money built by hand, and only then.

    msgspec builds decoded values without calling the class, so this strictness never reaches
    the wire: a currency code the server adds after this release still decodes (forward
    compatibility), while ``Money(100, "usd")`` in your own code fails at once.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        money = super().__call__(*args, **kwargs)
        # msgspec enforces both types when decoding (and a non-empty currency, through the
        # field's Meta) without calling any Python; a hand-built value is checked here.
        amount, code = money.amount, money.currency
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise TypeError(f"amount: must be an int in minor units, got {amount!r}")
        if not isinstance(code, str) or not code:
            raise ValueError(f"currency: must be a non-empty ISO 4217 code, got {code!r}")
        if not _ISO_CODE.fullmatch(code):
            raise ValueError(
                f"currency: must be an upper-case ISO 4217 code such as 'USD', got {code!r}"
            )
        if code not in _KNOWN_CODES:
            raise ValueError(f"currency: {code!r} is not an ISO 4217 currency code")
        return money


# Money cannot subclass ttg_async._ttg.models.Model (that module imports this one), so it
# repeats the settings that matter here: frozen, and camelCase wire names (both fields are one
# word anyway).
class Money(msgspec.Struct, frozen=True, rename="camel", metaclass=_MoneyMeta):
    """An amount of money as the API sends it: integer minor units and a currency code.

    There is never a float in a ``Money``. ``amount`` is an ``int`` (``18500`` USD is $185.00),
    and `decimal` gives the exact major-unit value for arithmetic or display.

    Attributes:
        amount: The amount in minor units (cents, pence; fils for ``KWD``), never a float.
        currency: The ISO 4217 code, e.g. ``"USD"``.

    >>> price = Money(18500, "USD")
    >>> price.decimal
    Decimal('185.00')
    >>> price.format()
    '$185.00'
    >>> Money(18500, "KWD").decimal
    Decimal('18.500')

    Amounts of one currency order and compare; across currencies, ordering raises
    `TypeError` (and ``==`` is simply false). ``str()`` formats for ``en_US``:

    >>> Money(500, "USD") < Money(1250, "USD")
    True
    >>> max(Money(500, "GBP"), Money(1250, "GBP"))
    Money(amount=1250, currency='GBP')
    >>> str(Money(18500, "USD"))
    '$185.00'

    A hand-built ``Money`` needs a known, upper-case ISO 4217 code (``Money(1, "usd")`` raises
    `ValueError`); a code decoded from the API is kept as sent.
    """

    amount: int
    # No __post_init__: it would run for every decoded Money (dozens per inventory list);
    # the metaclass checks hand-built values, and this Meta an empty code on the wire.
    currency: Annotated[str, msgspec.Meta(min_length=1)]

    @property
    def scale(self) -> int:
        """Decimal places of `currency`, from babel (which says 2 for a code it lacks).

        >>> Money(1, "JPY").scale, Money(1, "USD").scale, Money(1, "KWD").scale
        (0, 2, 3)
        """
        return int(get_currency_precision(self.currency))

    @property
    def decimal(self) -> Decimal:
        """The amount in major units as an exact `Decimal`.

        >>> Money(12345, "GBP").decimal
        Decimal('123.45')
        """
        # Built from a string so no arithmetic context (and no rounding) is involved.
        return Decimal(f"{self.amount}e-{self.scale}")

    def __str__(self) -> str:
        return self.format()

    def _same_currency(self, other: Money, op: str) -> None:
        if self.currency != other.currency:
            raise TypeError(
                f"cannot compare {self} {op} {other}: different currencies "
                f"({self.currency} and {other.currency}); convert one first"
            )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "<")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "<=")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, ">")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, ">=")
        return self.amount >= other.amount

    def format(self, locale: str | Locale = "en_US") -> str:
        """Format for display in ``locale`` with babel, e.g. ``"$185.00"`` or ``"185,00 €"``.

        >>> Money(18500, "EUR").format("de_DE")
        '185,00\\xa0€'
        """
        return str(format_currency(self.decimal, self.currency, locale=locale))
