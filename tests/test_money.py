"""Tests for ttg_async._ttg.money: exact scale per currency, babel formatting, no floats."""

from __future__ import annotations

import doctest
from decimal import Decimal
from typing import Any

import msgspec
import pytest

import ttg_async._ttg.money as money_module
from ttg_async._core.decoding import decoder_for
from ttg_async._ttg.models import Money


@pytest.mark.parametrize(
    ("currency", "scale", "decimal", "formatted"),
    [
        ("USD", 2, Decimal("185.00"), "$185.00"),
        ("GBP", 2, Decimal("185.00"), "£185.00"),
        ("EUR", 2, Decimal("185.00"), "€185.00"),
        ("JPY", 0, Decimal("18500"), "¥18,500"),
        ("KRW", 0, Decimal("18500"), "₩18,500"),
        ("KWD", 3, Decimal("18.500"), "KWD18.500"),
    ],
)
def test_scale_decimal_and_format(
    currency: str, scale: int, decimal: Decimal, formatted: str
) -> None:
    money = Money(18500, currency)
    assert money.scale == scale
    assert money.decimal == decimal
    assert isinstance(money.decimal, Decimal)
    # Same digits and exponent, not just an equal value: 185.00 keeps its two places.
    assert str(money.decimal) == str(decimal)
    assert money.format() == formatted
    assert money.format("en_US") == formatted


@pytest.mark.parametrize(
    ("money", "locale", "formatted"),
    [
        (Money(18500, "EUR"), "de_DE", "185,00\xa0€"),
        (Money(18500, "GBP"), "en_GB", "£185.00"),
        (Money(123456789, "USD"), "en_US", "$1,234,567.89"),
        (Money(18500, "USD"), "fr_FR", "185,00\xa0$US"),
        (Money(5, "KWD"), "en_US", "KWD0.005"),
        (Money(1, "JPY"), "ja_JP", "￥1"),
    ],
)
def test_format_in_other_locales(money: Money, locale: str, formatted: str) -> None:
    assert money.format(locale) == formatted


def test_decimal_is_exact_for_large_and_negative_amounts() -> None:
    assert Money(10**30 + 1, "USD").decimal == Decimal("10000000000000000000000000000.01")
    assert Money(-500, "USD").decimal == Decimal("-5.00")
    assert Money(0, "KWD").decimal == Decimal("0.000")


def test_positional_and_keyword_construction() -> None:
    assert Money(18500, "USD") == Money(amount=18500, currency="USD")
    assert Money(18500, "USD") != Money(18500, "GBP")
    assert hash(Money(1, "USD")) == hash(Money(1, "USD"))


def test_wire_shape() -> None:
    money = decoder_for(Money)(b'{"amount": 18500, "currency": "USD", "display": "$185.00"}')
    assert money == Money(18500, "USD")
    assert type(money.amount) is int
    assert msgspec.json.encode(money) == b'{"amount":18500,"currency":"USD"}'


@pytest.mark.parametrize(
    "body",
    [
        b'{"amount": 185.0, "currency": "USD"}',
        b'{"amount": "18500", "currency": "USD"}',
        b'{"amount": true, "currency": "USD"}',
        b'{"amount": 18500}',
        b'{"amount": 18500, "currency": ""}',
    ],
)
def test_bad_wire_money_rejected(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        decoder_for(Money)(body)


@pytest.mark.parametrize("amount", [185.0, True, "18500", Decimal("185")])
def test_non_int_amount_rejected(amount: Any) -> None:
    with pytest.raises(TypeError, match=r"^amount: "):
        Money(amount, "USD")


@pytest.mark.parametrize("currency", ["", None, 840])
def test_bad_currency_rejected(currency: Any) -> None:
    with pytest.raises(ValueError, match=r"^currency: "):
        Money(100, currency)


def test_docstring_examples() -> None:
    result = doctest.testmod(money_module)
    assert result.attempted > 0
    assert result.failed == 0
