"""The one place the package version is written (hatch reads it for the metadata)."""

__version__ = "0.1.0"
"""The installed version of ``ttg_async``, e.g. ``"0.1.0"``."""
