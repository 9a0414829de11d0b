"""Packaging: one version everywhere, the metadata a user expects, and a lean install."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

import ttg_async
from ttg_async._ttg.config import USER_AGENT

ROOT = Path(__file__).resolve().parent.parent


def test_one_version_agrees_with_the_installed_metadata() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", ttg_async.__version__)
    assert metadata.version("ttg_async") == ttg_async.__version__
    assert f"ttg-async/{ttg_async.__version__}" == USER_AGENT
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project  # dynamic: read from ttg_async/_version.py
    assert project["dynamic"] == ["version"]


def test_the_version_is_written_in_one_place() -> None:
    version = ttg_async.__version__
    holders = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "ttg_async").rglob("*.py")
        if f'"{version}"' in path.read_text()
    ]
    assert holders == ["ttg_async/_version.py"]


def test_metadata_has_license_classifiers_and_keywords() -> None:
    meta = metadata.metadata("ttg_async")
    assert meta["License-Expression"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    classifiers = meta.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    assert meta["Requires-Python"] == ">=3.11"
    assert "ticketing" in (meta["Keywords"] or "")


def test_rich_is_only_in_the_cli_extra() -> None:
    requires = metadata.requires("ttg_async") or []
    base = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith("rich") for r in base), base
    assert any(r.startswith("rich") and "extra == 'cli'" in r for r in requires)
    assert any(r.startswith("babel") for r in base)  # Money needs it


def test_the_changelog_names_the_current_version() -> None:
    assert f"## [{ttg_async.__version__}]" in (ROOT / "CHANGELOG.md").read_text()
