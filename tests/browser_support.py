"""Headless Chromium (Debian's package, /usr/bin/chromium) driven by Python playwright; never
playwright's own downloaded browsers. `.ci/run` installs the package when it is missing."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("FRONTIER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("no Chromium here (apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page with every console error, page error and request it made recorded."""

    def __init__(self, browser) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def close(self) -> None:
        self.page.close()
