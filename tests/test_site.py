"""The course website: built from the solved notebooks, then opened in a real browser.

``tools/site.py build`` renders ``solutions/*.ipynb`` with their stored outputs, the front page,
the glossary and the bibliography. The build and the link check need Sphinx, MyST-NB and the
Book theme (``.[site]``, part of ``.[dev]``); the browser test also needs Playwright and
Chromium and is skipped, with the reason, without them. It visits every chapter page and
stores a screenshot of chapter 5's page in the test's temporary folder (printed, not kept).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import json
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("site_tool", ROOT / "tools" / "site.py")
site_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_tool)

pytest.importorskip("myst_nb", reason='the site needs MyST-NB: pip install -e ".[site]"')
pytest.importorskip("sphinx_book_theme", reason='pip install -e ".[site]"')

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTERS = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
pytestmark = pytest.mark.once


def _title(chapter: str) -> str:
    """The notebook's title without its number: '# 05 · Bahdanau attention…' → 'Bahdanau…'."""
    first = json.loads((ROOT / "solutions" / f"{chapter}.ipynb").read_text("utf-8"))["cells"][0]
    line = "".join(first["source"]).splitlines()[0]
    return line.lstrip("# ").split("·", 1)[-1].strip()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    report = site_tool.build(out)
    print(f"site: {report['pages']} pages in {report['seconds']} s")
    return out


@pytest.fixture(scope="module")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_chapter_has_a_page_and_the_site_has_its_reference_pages(site):
    for chapter in CHAPTERS:
        assert (site / f"{chapter}.html").exists(), chapter
    for page in ("index", "glossary", "bibliography", "search"):
        assert (site / f"{page}.html").exists(), page
    assert (site / "_static" / "mathjax" / "MathJax.js").exists(), "MathJax must be local"
    front = (site / "index.html").read_text("utf-8")
    assert "Reference results" in front and "Bahdanau attention" in front
    assert "36.53" in front, "the front page shows the README's results table"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)


def test_no_link_inside_the_site_is_broken(site):
    broken = []
    pages = [p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")]
    assert len(pages) >= len(CHAPTERS) + 4
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text("utf-8"))
        for target in parser.targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("#", "mailto:", "data:")):
                continue
            path = unquote(parts.path)
            if path and not (page.parent / path).resolve().exists():
                broken.append(f"{page.relative_to(site)} → {target}")
    assert not broken, "broken links:\n" + "\n".join(broken[:20])


def test_the_build_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(site_tool.SiteError, match="not empty"):
        site_tool.build(tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_sees_every_chapter_with_figures_equations_and_launch_buttons(served, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    release = site_tool.release()
    pages_with_math = 0
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            for chapter in CHAPTERS:
                page.goto(f"{served}/{chapter}.html")
                heading = page.locator("main h1").first.inner_text()
                assert _title(chapter) in heading, (chapter, heading)
                figures = page.evaluate(
                    "() => [...document.querySelectorAll('main img')]"
                    ".filter(img => img.complete && img.naturalWidth > 0).length")
                assert figures >= 1, f"{chapter}: no figure was rendered"
                if page.locator("main .math").count():
                    pages_with_math += 1
                    page.wait_for_function(
                        "() => document.querySelectorAll('main .MathJax_CHTML, main .MathJax, "
                        "main .MathJax_Display').length > 0")
                links = page.eval_on_selector_all(
                    ".dropdown-launch-buttons a", "links => links.map(a => a.href)")
                notebook = f"solutions/{chapter}.ipynb"
                assert any(link.startswith("https://colab.research.google.com/github/")
                           and link.endswith(f"/blob/{release}/{notebook}")
                           for link in links), (chapter, links)
                assert any(link.startswith("https://mybinder.org/v2/gh/")
                           and f"/{release}?urlpath=lab/tree/{notebook}" in link
                           for link in links), (chapter, links)
                if chapter.startswith("05_"):
                    shot = tmp_path / f"{chapter}.png"
                    page.screenshot(path=str(shot), full_page=False)
                    print(f"screenshot of chapter 5's page: {shot}")
                    assert shot.stat().st_size > 10_000
            assert pages_with_math >= 2, "the BLEU and label-smoothing equations are missing"
            page.goto(f"{served}/glossary.html")
            assert page.locator("dt").count() >= 20, "the glossary lost its terms"
        finally:
            browser.close()
