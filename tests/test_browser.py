"""The built book in a real browser: headless Chromium, driven by Playwright, over HTTP.

For every chapter page: no console errors from the book's own assets, every figure has a
non-zero natural size, every formula typesets with MathJax and none is a TeX error, no
Python traceback in the outputs, and the Colab launch button opens that chapter's ``.ipynb``
in the repository of ``_config.yml``. A screenshot of chapter 1 goes to ``_build/screenshots/``.

Needs the built book (``make book``), ``/usr/bin/chromium`` and, for the formulas, MathJax 3
unpacked in ``.cache/mathjax`` (both from ``.ci/browser_setup.sh``; the page's requests for
MathJax's CDN are answered from that copy, every other outside request is cut off). Without
them the tests are skipped, unless ``LRCOURSE_BROWSER_TEST=1`` (as in ``.ci/run``), which
makes them run and fail on anything missing. ``LRCOURSE_BOOK_HTML`` points it at another
build folder, ``LRCOURSE_CHROMIUM`` at another browser, ``LRCOURSE_MATHJAX`` at another copy.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("LRCOURSE_BOOK_HTML", ROOT / "_build" / "html"))
SCREENSHOTS = HTML.parent / "screenshots"
CHROMIUM = Path(os.environ.get("LRCOURSE_CHROMIUM", "/usr/bin/chromium"))
MATHJAX = Path(os.environ.get("LRCOURSE_MATHJAX", ROOT / ".cache" / "mathjax"))
MATHJAX_CDN = re.compile(r"^https://cdn\.jsdelivr\.net/npm/mathjax@3[^/]*/([^?#]+)")  # no named group: JS reads it too
REQUIRED = os.environ.get("LRCOURSE_BROWSER_TEST", "") not in ("", "0")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not REQUIRED:
    if not CHROMIUM.exists():
        pytest.skip(
            f"no {CHROMIUM} (run .ci/browser_setup.sh, or set LRCOURSE_BROWSER_TEST=1 to require it)",
            allow_module_level=True,
        )
    if not (HTML / "index.html").exists():
        pytest.skip(
            f"no built book in {HTML} (run make book, or set LRCOURSE_BROWSER_TEST=1 to require it)",
            allow_module_level=True,
        )


def toc_chapters() -> list[str]:
    """The chapter docnames (``book/NN_slug``) listed in _toc.yml, in order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str) and re.fullmatch(r"book/\d+_[\w-]+", file.removesuffix(".md")):
                found.append(file.removesuffix(".md"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    return found


CHAPTERS = toc_chapters()


def colab_link(docname: str) -> str:
    """Where the Colab button of a chapter must point, from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    owner_repo = re.sub(r"^https?://github\.com/", "", repo["url"].rstrip("/")).removesuffix(".git")
    prefix = (repo.get("path_to_book") or "").strip("/")
    path = f"{prefix}/{docname}.ipynb" if prefix else f"{docname}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{owner_repo}/blob/{repo.get('branch', 'main')}/{path}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    assert (HTML / "index.html").exists(), f"no built book in {HTML}: run `make book` first"
    handler = functools.partial(_Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM.exists(), f"no {CHROMIUM}: run .ci/browser_setup.sh"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Visit:
    """A page opened in the browser, with what went wrong on our own origin while loading it."""

    def __init__(self, browser: object, base_url: str, path: str) -> None:
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = self.page = self.context.new_page()
        ours = base_url + "/"

        # The book must not depend on the network: requests elsewhere (CDNs) are cut off at once,
        # and what they would have done is not ours to check.
        page.route(re.compile(r"^(?!" + re.escape(ours) + ").*"), lambda route: route.abort())
        if (MATHJAX / "es5").is_dir():  # registered later, so tried first: MathJax from the local copy
            page.route(MATHJAX_CDN, self._mathjax)
        page.on("console", lambda msg: self._console(msg, ours))
        page.on("pageerror", lambda err: self._page_error(err, ours))
        page.on(
            "response",
            lambda r: r.url.startswith(ours) and r.status >= 400 and self.errors.append(f"HTTP {r.status} for {r.url}"),
        )
        page.on(
            "requestfailed",
            lambda r: r.url.startswith(ours) and self.errors.append(f"failed to load {r.url}: {r.failure}"),
        )
        response = page.goto(ours + path, wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"

    @staticmethod
    def _mathjax(route: object) -> None:
        path = (MATHJAX / MATHJAX_CDN.match(route.request.url)[1]).resolve()
        if path.is_file() and MATHJAX.resolve() in path.parents:
            route.fulfill(path=str(path))
        else:
            route.abort()

    def _console(self, msg: object, ours: str) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if where.startswith(ours) or (not where and ours in msg.text):
            self.errors.append(f"console error at {where}: {msg.text}")

    def _page_error(self, err: object, ours: str) -> None:
        stack = getattr(err, "stack", "") or ""
        if ours in stack or not re.search(r"https?://", stack):
            self.errors.append(f"uncaught {err}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def visits(browser: object, base_url: str) -> Iterator[dict[str, Visit]]:
    opened: dict[str, Visit] = {}
    yield opened
    for visit in opened.values():
        visit.close()


def visit(visits: dict[str, Visit], browser: object, base_url: str, docname: str) -> Visit:
    if docname not in visits:
        visits[docname] = Visit(browser, base_url, f"{docname}.html")
    return visits[docname]


def test_the_toc_lists_chapters_and_each_was_built() -> None:
    assert CHAPTERS, "_toc.yml lists no book/NN_slug chapters"
    missing = [d for d in CHAPTERS if not (HTML / f"{d}.html").exists()]
    assert not missing, f"chapters in _toc.yml without a page in {HTML}: {missing}"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_page_loads_without_errors(docname: str, visits: dict, browser: object, base_url: str) -> None:
    page = visit(visits, browser, base_url, docname)
    assert page.page.locator("main h1").count() >= 1, f"{docname}: no title"
    assert not page.errors, f"{docname}: " + "; ".join(page.errors[:10])


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_figures_render(docname: str, visits: dict, browser: object, base_url: str) -> None:
    page = visit(visits, browser, base_url, docname).page
    images = page.evaluate(
        """async () => {
            const imgs = [...document.querySelectorAll("main img")];
            await Promise.all(imgs.map(img => {
                img.loading = "eager";
                return img.complete ? null : new Promise(done => {
                    img.addEventListener("load", done); img.addEventListener("error", done);
                    setTimeout(done, 10000);
                });
            }));
            return imgs.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth, height: img.naturalHeight}));
        }"""
    )
    figures = [im for im in images if "/_images/" in im["src"]]
    assert figures, f"{docname}: no figures in the page (every chapter draws at least one)"
    broken = [im["src"] for im in images if im["width"] == 0 or im["height"] == 0]
    assert not broken, f"{docname}: images that did not render: {broken}"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_math_typesets(docname: str, visits: dict, browser: object, base_url: str) -> None:
    if not (MATHJAX / "es5" / "tex-mml-chtml.js").is_file():
        message = f"no MathJax in {MATHJAX}: run .ci/browser_setup.sh (it fetches mathjax from npm)"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    page = visit(visits, browser, base_url, docname).page
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    math = page.evaluate(
        """async () => {
            await MathJax.startup.promise;
            const all = [...document.querySelectorAll("main .math")];
            // A TeX error typesets as <merror>; an undefined macro (MathJax's noundefined
            // extension) as its own name in red. Both are visible only in the internal MathML.
            const errors = Array.from(MathJax.startup.document.math)
                .map(item => ({tex: item.math, mml: MathJax.startup.toMML(item.root)}))
                .filter(({mml}) => mml.includes("<merror") || mml.includes('mathcolor="red"'))
                .map(({tex}) => tex.slice(0, 80));
            return {
                count: all.length,
                raw: all.filter(el => !el.querySelector("mjx-container")).map(el => el.textContent.slice(0, 80)),
                errors: errors,
            };
        }"""
    )
    assert math["count"] > 0, f"{docname}: no formulas in the page (every chapter has some)"
    assert not math["raw"], f"{docname}: {len(math['raw'])} formulas left as raw TeX, e.g. {math['raw'][:3]}"
    assert not math["errors"], f"{docname}: TeX errors in formulas: {math['errors'][:5]}"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_outputs_have_no_traceback(docname: str, visits: dict, browser: object, base_url: str) -> None:
    page = visit(visits, browser, base_url, docname).page
    assert page.locator(".cell_output").count() > 0, f"{docname}: no cell outputs (was the chapter executed?)"
    errors = page.locator(".cell_output .traceback, .cell_output .output.error").all_inner_texts()
    assert not errors, f"{docname}: error output in the page: {errors[0][:500]}"
    text = "\n".join(page.locator(".cell_output").all_inner_texts())
    for mark in (
        "Traceback (most recent call last)",
        "Error Traceback",
        "---------------------------------------------------------------------------",
    ):
        assert mark not in text, f"{docname}: a Python traceback in the outputs: ...{text[text.index(mark) :][:400]}"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_colab_button_opens_its_notebook(docname: str, visits: dict, browser: object, base_url: str) -> None:
    page = visit(visits, browser, base_url, docname).page
    links = page.eval_on_selector_all("a[href*='colab.research.google.com']", "els => els.map(e => e.href)")
    assert links, f"{docname}: no Colab launch button"
    assert set(links) == {colab_link(docname)}, f"{docname}: Colab links {links}, expected {colab_link(docname)}"


def test_screenshot_of_chapter_one(visits: dict, browser: object, base_url: str) -> None:
    first = next((d for d in CHAPTERS if Path(d).name.startswith("01_")), None)
    assert first, "no chapter 1 in _toc.yml"
    page = visit(visits, browser, base_url, first).page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{Path(first).name}.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000, f"{target} looks empty"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_solutions_are_collapsed(docname: str, visits: dict, browser: object, base_url: str) -> None:
    page = visit(visits, browser, base_url, docname).page
    cells = page.evaluate(
        """() => [...document.querySelectorAll(".cell_input")]
            .filter(el => el.textContent.includes("### BEGIN SOLUTION"))
            .map(el => {
                const details = el.closest("details");
                // A closed <details> keeps a layout box in Chromium; checkVisibility() knows it is hidden.
                return {collapsed: details !== null && !details.open, shown: el.checkVisibility()};
            })"""
    )
    assert cells, f"{docname}: no exercise solutions in the page"
    shown = [i for i, c in enumerate(cells) if not c["collapsed"] or c["shown"]]
    assert not shown, f"{docname}: solutions {shown} (in page order) are shown; tag their cells hide-input"
