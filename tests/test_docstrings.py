"""Every public name has a docstring with a short example (the API reference shows them)."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import ttg_async
import ttg_async.buyback
import ttg_async.sandbox

MODULES = [ttg_async, ttg_async.sandbox, ttg_async.buyback]


def _public(module: ModuleType) -> list[tuple[str, object]]:
    found = []
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            found.append((f"{module.__name__}.{name}", value))
    return found


NAMES = [pair for module in MODULES for pair in _public(module)]


@pytest.mark.parametrize(("name", "value"), NAMES, ids=[name for name, _ in NAMES])
def test_public_name_has_a_docstring_with_an_example(name: str, value: object) -> None:
    doc = inspect.getdoc(value) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ">>>" in doc, f"{name}'s docstring has no example"


def test_every_resource_method_has_an_example() -> None:
    client = ttg_async.TTGClient("sk_test_docstrings0000", "r", base_url="http://127.0.0.1:9")
    resources = ("locations", "events", "occurrences", "inventory", "carts", "orders")
    for resource in resources:
        for name, method in inspect.getmembers(getattr(client, resource), inspect.ismethod):
            if not name.startswith("_"):
                assert ">>>" in (inspect.getdoc(method) or ""), f"{resource}.{name}"
