"""Open a report (or any local HTML page) in a real headless Chromium, with the network cut off, and see
what a reader would: the headings, console and page errors, requests the page tried to make, whether
every image decoded, and a full-page screenshot.

Uses Debian's Chromium (``apt-get install chromium``; ``AUGKIT_CHROMIUM`` names another binary) driven by
Playwright (``pip install playwright``; its own browser downloads are not needed). Both are optional:
``BrowserUnavailable`` says which one is missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from pathlib import Path
from typing import Iterator

#: what keeps Chromium quiet on a machine without network (and lets it run as root in a container)
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is not installed."""


@dataclasses.dataclass
class PageCheck:
    headings: list[str]
    console_errors: list[str]
    page_errors: list[str]
    requests: list[str]  # URLs other than file: and data: the page asked for (all blocked)
    images: list[bool]  # per <img>: loaded and decoded
    screenshot: bytes  # PNG of the full page (or its top)


def chromium_path() -> str | None:
    return os.environ.get("AUGKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def launch_chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright ``Browser``), closed on exit."""
    exe = chromium_path()
    if exe is None:
        raise BrowserUnavailable("no Chromium found (apt-get install chromium, or set AUGKIT_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserUnavailable("Playwright is not installed (pip install playwright)") from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


def open_page(path: str | Path, *, width: int = 1100, height: int | None = None, browser=None) -> PageCheck:
    """Load the local file ``path`` and report what happened (see the module docstring). The screenshot
    is of the whole page, or of its top ``height`` pixels."""
    if browser is None:
        with launch_chromium() as b:
            return open_page(path, width=width, height=height, browser=b)
    page = browser.new_page(viewport={"width": width, "height": height or 900})
    console, errors, requests = [], [], []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            return r.continue_()
        requests.append(r.request.url)
        return r.abort()

    try:
        page.route("**/*", route)
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        headings = page.locator("h1, h2").all_inner_texts()
        images = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        shot = page.screenshot(full_page=height is None)
    finally:
        page.close()
    return PageCheck(headings, console, errors, requests, images, shot)
