"""The book (scripts/book): built offline from a real run, then read in Chromium and crawled link by link.

One build serves the module: ``scripts/book`` into a temporary folder, with its install step off,
inside this test's sandbox, which has no network at all (only ``lo``): a build that fetched anything
would fail. Then the site is served on 127.0.0.1 by a static web server of this process, and:

- Chromium (headless, Debian's, through Playwright) opens the landing page, each language's index
  and lesson 02 in each language; its images are loaded and not blank; the language switch leads to
  the same page in the other language and back; no page asks for anything outside the site;
- a crawl from the landing page follows every link and every asset of every page: each answers, and
  each ``#place`` exists on its page.

Screenshots land in test-artifacts/book/ (git-ignored): the zh-CN lesson 02 page among them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from learner_browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, looks_blank, picture_stats

import netlab

pytest.importorskip("myst_nb", reason="the book extra is not installed (./scripts/test installs it)")
pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(os.getuid() != 0, reason="the book is built once per test run, in the root run"),
]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "book"
LANGS = ("en", "zh-CN")
LESSONS = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
BUILD_TIMEOUT = 1200  # seconds; about two minutes here
MIN_IMAGE = (120, 90)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book, built once by the README's command; its site folder."""
    output = tmp_path_factory.mktemp("book")
    notebooks = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (REPO / "notebooks").rglob("*.ipynb")}
    env = dict(os.environ, NETLAB_BOOK_INSTALL="0")
    result = subprocess.run(
        [str(REPO / "scripts" / "book"), "--output", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(result.stdout.strip().splitlines()[-1])  # how long the build took, step by step
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (REPO / "notebooks").rglob("*.ipynb")}
    assert after == notebooks, "the build wrote into the repository's notebooks"
    return output / "html"


@pytest.fixture(scope="module")
def site(book: Path) -> Iterator[str]:
    """The site on a static web server at 127.0.0.1 (a free port); its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# -- the build ---------------------------------------------------------------------------------------


def test_the_build_ran_without_network(book: Path):
    """The build ran here, in a world with no way out: only lo, and no route anywhere else."""
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    assert [link["ifname"] for link in links] == ["lo"]
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    assert routes.strip() == ""
    pages = ["index", "teachers", "glossary", "reproduce", "challenges/index", *(f"notebooks/{s}" for s in LESSONS)]
    for lang in LANGS:
        for page in pages:
            assert (book / lang / f"{page}.html").is_file(), f"{lang}/{page}.html is missing"


def test_every_lesson_page_says_what_made_it_and_offers_its_files(book: Path):
    ip_v = subprocess.run(["ip", "-V"], capture_output=True, text=True, check=True).stdout
    for lang in LANGS:
        for stem in LESSONS:
            page = (book / lang / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
            made_by = page[page.index('class="netlab-made-by"') :][:2000]
            assert f"Linux {platform.release()}" in made_by
            assert f"netlab {netlab.__version__}" in made_by
            assert f"iproute2 {ip_v.split('iproute2-')[1].split(',')[0].strip()}" in made_by
            assert "ipykernel" in made_by  # the Jupyter kernel
            download = book / lang / "files" / stem / f"{stem}.ipynb"
            assert f'href="../files/{stem}/{stem}.ipynb"' in made_by
            recorded = json.loads(download.read_text(encoding="utf-8"))
            code = [c for c in recorded["cells"] if c["cell_type"] == "code" and c["source"]]
            assert code and all(c["execution_count"] for c in code), f"{lang}/{stem}.ipynb was not run whole"
            assert any(c["outputs"] for c in code)


def test_a_challenge_page_has_the_task_and_no_solution(book: Path):
    from netlab.teach import challenges

    router = challenges.router()
    try:
        task = router.task
    finally:
        router.close()
    html = (book / "en" / "challenges" / "router.html").read_text(encoding="utf-8")
    article = html[html.index("<article") : html.index("</article>")]
    assert all(word in article for word in task.replace("<", "&lt;").replace(">", "&gt;").split())
    solution = (REPO / "solutions" / "challenges.py").read_text(encoding="utf-8")
    assert "ip_forward" in solution and "ip_forward" not in article  # the answer stays out of the book


# -- in the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (./scripts/test installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, site: str) -> Iterator[object]:
    """A fresh page that refuses, and records, any request outside the site."""
    context = browser.new_context(viewport=VIEWPORT)
    outside: list[str] = []

    def only_the_site(route):
        if route.request.url.startswith(site) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_site)
    page = context.new_page()
    failed: list[str] = []  # fonts and scripts that pages load, from their CSS too

    def answered(response) -> None:
        if response.status >= 400:
            failed.append(f"{response.url}: {response.status}")

    page.on("response", answered)
    yield page
    context.close()
    assert outside == [], f"pages asked for things outside the site: {outside}"
    assert failed == [], f"requests that failed: {failed}"


_IMAGES_JS = """() => Array.from(document.querySelectorAll('article img')).map((img, i) => {
    img.setAttribute('data-check', String(i));
    return {i, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight, src: img.src.slice(0, 80)};
})"""


def _check_images(page, name: str) -> int:
    images = page.evaluate(_IMAGES_JS)
    for image in images:
        assert image["complete"] and image["width"] >= MIN_IMAGE[0] and image["height"] >= MIN_IMAGE[1], (name, image)
        element = page.locator(f'img[data-check="{image["i"]}"]')
        element.scroll_into_view_if_needed()
        stats = picture_stats(element.screenshot())
        assert not looks_blank(stats), (name, image["src"], stats)
    return len(images)


_SCROLL_TO_CELL_JS = """(table) => {
    const cell = table.closest('.cell');
    window.scrollTo(0, cell.getBoundingClientRect().top + window.scrollY - 60);
}"""


def _screenshot_packets(page, packets, path: Path) -> None:
    """The capture's cell, its packet table and the ladder diagram after it, in one tall window."""
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1400})
    packets.evaluate(_SCROLL_TO_CELL_JS)
    page.screenshot(path=path)
    page.set_viewport_size(VIEWPORT)


def test_the_landing_page_leads_to_both_languages(page, site: str):
    page.goto(site)
    for lang in LANGS:
        page.goto(site)
        page.locator(f'a[hreflang="{lang}"]').click()
        page.wait_for_load_state("load")
        assert page.url == f"{site}{lang}/index.html"
        assert page.locator("html").get_attribute("lang") == {"en": "en", "zh-CN": "zh-CN"}[lang]
        assert page.locator(".netlab-made-by").is_visible()
        assert page.locator("nav.bd-links a", has_text="02").count() >= 1  # the lessons in the sidebar


@pytest.mark.parametrize("lang", LANGS)
def test_lesson_02_shows_its_diagrams_and_switches_language(page, site: str, lang: str):
    other = [x for x in LANGS if x != lang][0]
    url = f"{site}{lang}/notebooks/02-veth-pair.html"
    page.goto(url)
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{lang}-02-veth-pair.png")  # the top: switch, versions, downloads
    assert _check_images(page, f"{lang} 02") >= 3  # a diagram after each change to the network
    assert page.locator(".cell_output pre").count() >= 5  # `ip` and ping output, as recorded
    packets = page.locator(".cell_output .netlab-packets").first  # the packet table of a ping
    assert packets.locator("tr").count() >= 3 and "ICMP echo" in packets.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _screenshot_packets(page, packets, ARTIFACTS / f"{lang}-02-veth-pair-packets.png")
    switch = page.locator("a.netlab-language-switch")
    assert switch.is_visible()
    switch.click()
    page.wait_for_load_state("load")
    assert page.url == f"{site}{other}/notebooks/02-veth-pair.html"
    page.locator("a.netlab-language-switch").click()
    page.wait_for_load_state("load")
    assert page.url == url


def test_the_reproduce_page_shows_the_report_with_its_diagrams(page, site: str):
    page.goto(f"{site}en/reproduce.html")
    page.wait_for_load_state("load")
    assert page.locator(".netlab-report table").count() >= 2
    assert _check_images(page, "reproduce") >= 3


# -- the crawl ---------------------------------------------------------------------------------------


class _Links(HTMLParser):
    """The links (a, link) and assets (img, script, source) of a page, and the ids it has."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("id", "name"):
            if values.get(name) and (name == "id" or tag == "a"):
                self.ids.add(values[name] or "")
        attribute = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src"}.get(tag)
        if attribute and values.get(attribute):
            self.targets.append(values[attribute] or "")


def _fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.headers.get_content_type(), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_every_link_of_the_site_works(site: str):
    """From the landing page, follow every link and asset within the site: all answer, all #places exist."""
    seen: dict[str, set[str] | None] = {}  # URL -> the ids of the page (None: not an HTML page)
    wanted: list[tuple[str, str]] = []  # (from page, link with its #place)
    queue = [site]
    broken = []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        status, kind, body = _fetch(url)
        if status != 200:
            broken.append(f"{url}: HTTP {status}")
            seen[url] = None
            continue
        if kind != "text/html":
            seen[url] = None
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8", errors="replace"))
        seen[url] = parser.ids
        for target in parser.targets:
            absolute = urljoin(url, target)
            if urlsplit(absolute).scheme in ("data", "mailto", "javascript") or not absolute.startswith(site):
                continue
            wanted.append((url, absolute))
            queue.append(urldefrag(absolute).url)
    for page_url, link in wanted:
        target, place = urldefrag(link)
        ids = seen.get(target)
        if place and ids is not None and place not in ids:
            broken.append(f"{page_url}: {link}: no #{place} there")
    pages = [u for u, ids in seen.items() if ids is not None]
    assert len(pages) >= 2 * (len(LESSONS) + 8), f"the crawl reached only {len(pages)} pages"
    for lang in LANGS:
        assert f"{site}{lang}/notebooks/02-veth-pair.html" in seen
    assert broken == [], "\n".join(broken[:40])
