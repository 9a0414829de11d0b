"""Fixtures for the client tests (see ttg_testkit.py)."""

from ttg_testkit import running, show, ttg

__all__ = ["running", "show", "ttg"]
