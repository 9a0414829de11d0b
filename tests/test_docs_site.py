"""The built documentation site reads as the API reference should.

The site is built once per session (``mkdocs build --strict`` into a temporary folder, a few
seconds), then its HTML is read: every public name has an entry with a signature, the models
list their fields, examples are code blocks, and no Sphinx role is left raw.

The ``docs`` extra (mkdocs) is not in the ``test`` extra: without it these tests skip, except
in CI (``CI=true``), where ``.ci/run`` installs it and a missing mkdocs is a failure.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

import ttg_async
import ttg_async.buyback

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ("reference/ttg_async", "reference/buyback", "reference/sandbox")


@dataclass(frozen=True)
class Site:
    root: Path

    def page(self, name: str) -> str:
        return (self.root / name / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    if importlib.util.find_spec("mkdocs") is None:
        message = "mkdocs is not installed: python -m pip install -e '.[docs]'"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Site(out)


_HEADING = re.compile(r'<h(?P<level>[1-6]) id="(?P<id>[^"]+)" class="doc doc-heading"')


def entry(page: str, identifier: str) -> str:
    """The HTML of one object's entry: its heading up to the next heading at its level."""
    headings = list(_HEADING.finditer(page))
    for index, heading in enumerate(headings):
        if heading.group("id") == identifier:
            level = int(heading.group("level"))
            end = next(
                (h.start() for h in headings[index + 1 :] if int(h.group("level")) <= level),
                len(page),
            )
            return page[heading.start() : end]
    raise AssertionError(f"no entry for {identifier}")


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def signature_of(fragment: str) -> str:
    found = re.search(r'<div class="doc-signature[^"]*">(.*?)</div>', fragment, re.S)
    assert found is not None, text_of(fragment)[:300]
    return text_of(found.group(1))


def test_order_lists_its_fields_with_types_and_meaning(site: Site) -> None:
    order = entry(site.page("reference/ttg_async"), "ttg_async.Order")
    table = text_of(order)
    assert "receipt_lines" in table
    assert "list[ReceiptLine]" in table
    assert "render it as sent" in table  # the field's meaning, from the Attributes section
    assert "receipt_lines" in signature_of(order)


def test_both_clients_show_their_constructor(site: Site) -> None:
    ttg = signature_of(entry(site.page("reference/ttg_async"), "ttg_async.TTGClient"))
    for parameter in ("api_key", "retailer", "platform", "max_connections", "session"):
        assert parameter in ttg
    tbb = signature_of(entry(site.page("reference/buyback"), "ttg_async.buyback.BuybackClient"))
    for parameter in ("client_id", "client_secret", "base_url"):
        assert parameter in tbb


def test_both_sandboxes_show_their_constructor(site: Site) -> None:
    box = signature_of(entry(site.page("reference/sandbox"), "ttg_async.sandbox.Sandbox"))
    assert "seed" in box
    page = site.page("reference/buyback")
    tbb = signature_of(entry(page, "ttg_async.buyback.sandbox.BuybackSandbox"))
    assert "seed" in tbb


def test_every_buyback_resource_is_documented(site: Site) -> None:
    page = site.page("reference/buyback")
    for resource in ("Events", "Sections", "Rows", "Quotes", "Orders"):
        text = text_of(entry(page, f"ttg_async.buyback._resources.{resource}"))
        assert f"tbb.{resource.lower()}" in text
    assert "create(" in text_of(entry(page, "ttg_async.buyback._resources.Quotes"))


@pytest.mark.parametrize(
    ("module", "page"),
    [(ttg_async, "reference/ttg_async"), (ttg_async.buyback, "reference/buyback")],
    ids=["ttg_async", "ttg_async.buyback"],
)
def test_every_public_name_is_documented_with_its_signature(
    site: Site, module: object, page: str
) -> None:
    html_page = site.page(page)
    missing = []
    for name in module.__all__:  # type: ignore[attr-defined]
        identifier = f"{module.__name__}.{name}"  # type: ignore[attr-defined]
        try:
            signature_of(entry(html_page, identifier))
        except AssertionError as exc:
            missing.append(f"{identifier}: {exc}")
    assert not missing, "\n".join(missing)


def test_no_sphinx_role_is_left_raw(site: Site) -> None:
    for name in REFERENCE:
        text = text_of(site.page(name))
        raw = re.findall(r":(?:class|meth|func|attr|exc|data|mod|obj):\S", text)
        assert not raw, f"{name}: {len(raw)} raw roles"


class _Blockquotes(HTMLParser):
    """Records doctest prompts found in text that is not inside a ``<pre>`` block."""

    def __init__(self) -> None:
        super().__init__()
        self.quote_depth = 0
        self.pre_depth = 0
        self.in_quote: list[str] = []
        self.outside_code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote":
            self.quote_depth += 1
        elif tag == "pre":
            self.pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote_depth -= 1
        elif tag == "pre":
            self.pre_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.quote_depth and ">>>" in data:
            self.in_quote.append(data.strip()[:80])
        if not self.pre_depth and ">>>" in data:
            self.outside_code.append(data.strip()[:80])


def test_examples_are_code_blocks_not_blockquotes(site: Site) -> None:
    for name in REFERENCE:
        parser = _Blockquotes()
        parser.feed(site.page(name))
        assert "<blockquote" not in site.page(name), name
        assert not parser.in_quote, f"{name}: {parser.in_quote[:3]}"
        assert not parser.outside_code, f"{name}: {parser.outside_code[:3]}"
    # ... and the examples are there, highlighted as Python console sessions.
    assert site.page("reference/ttg_async").count('<span class="gp">&gt;&gt;&gt; </span>') > 100


def test_the_performance_chart_is_served(site: Site) -> None:
    page = site.page("performance")
    found = re.search(r'<img [^>]*src="([^"]*chart\.png)"', page)
    assert found is not None
    assert (site.root / "performance" / found.group(1)).resolve().is_file()
