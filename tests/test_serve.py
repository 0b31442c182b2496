"""`frontier-explore serve`: the app in headless Chromium through textual-serve. The screen's
text is rebuilt from the bytes the browser received on its websocket by a real VT emulator
(pyte): what xterm.js drew on its canvas."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from browser_support import Watched, browser  # noqa: F401 - fixture

from explorer import Store

pytest.importorskip("textual_serve")
pyte = pytest.importorskip("pyte")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, *argv: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "explorer", "serve", *argv, "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.banner = self.proc.stdout.readline()  # printed once the store opened, before listening
        assert self.banner.startswith("serving"), self.banner + self.proc.stdout.read()
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(600):  # a wait for the port, not a timed assertion
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.proc.poll() is None
            time.sleep(0.1)
        raise AssertionError("the server never listened")

    def close(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=60)


class Screen:
    """The terminal as the browser got it: every websocket frame fed to pyte."""

    def __init__(self, page) -> None:
        self.screen = None
        self.stream = None
        self.pending: list[bytes] = []
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        if isinstance(payload, str) and payload.startswith('["resize"'):
            size = json.loads(payload)[1]
            self.screen = pyte.Screen(size["width"], size["height"])
            self.stream = pyte.ByteStream(self.screen)
            for data in self.pending:
                self.stream.feed(data)

    def _received(self, payload) -> None:
        if isinstance(payload, bytes):
            if self.stream is None:
                self.pending.append(payload)
            else:
                self.stream.feed(payload)

    def text(self) -> str:
        return "\n".join(self.screen.display) if self.screen else ""


def wait_for_text(page, screen: Screen, needle: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if needle in screen.text():
            return screen.text()
        page.wait_for_timeout(200)  # lets playwright deliver the frames
    raise AssertionError(f"{needle!r} never appeared; the screen:\n{screen.text()}")


def test_the_app_in_a_browser(browser, demo_path, tmp_path):
    import shutil

    copy = tmp_path / "store"  # a writable copy: the bundled demo refuses flags by itself
    shutil.copytree(demo_path, copy)
    store = Store.open(str(copy), cache=False)
    runs = [r.run_id for r in store.runs]
    served = Served(str(copy))
    w = Watched(browser)
    try:
        assert "(read-only)" in served.banner and "token" not in served.banner
        screen = Screen(w.page)
        w.page.goto(f"http://127.0.0.1:{served.port}/")
        text = wait_for_text(w.page, screen, runs[-1])  # the runs screen, newest first
        assert text.index(runs[-1]) < text.index(runs[0]) if runs[0] in text else True
        # nothing from the internet: every request went to the server itself
        assert [u for u in w.requests if not u.startswith(f"http://127.0.0.1:{served.port}/")
                and not u.startswith(f"ws://127.0.0.1:{served.port}/")] == []
        w.page.locator(".textual-terminal").click()
        w.page.keyboard.press("s")  # the staleness panel
        report = store.staleness()
        stale = [a.asset for a in report.assets if a.status == "stale"]
        text = wait_for_text(w.page, screen, "need attention")
        assert all(a in text for a in stale)
        w.page.screenshot(path=os.environ.get("FRONTIER_SERVE_SCREENSHOT", str(tmp_path / "serve.png")))
        # read-only: flagging the asset is refused on screen, and the store holds no flag
        _flag_focused_asset(w.page, screen)
        wait_for_text(w.page, screen, "served read-only")
        w.page.screenshot(path=str(tmp_path / "serve-refused.png"))
        assert Store.open(str(copy), cache=False).flags() == []
    finally:
        w.close()
        served.close()


def _flag_focused_asset(page, screen: Screen) -> None:
    """From the staleness panel: open the focused asset, press f and give a reason."""
    page.keyboard.press("Enter")  # enter opens the asset, as on every screen
    wait_for_text(page, screen, "f flag")
    page.keyboard.press("f")
    wait_for_text(page, screen, "Why?")
    page.keyboard.type("bad batch")
    page.keyboard.press("Enter")


def test_allow_flags_lets_the_browser_flag(browser, demo_path, tmp_path):
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(demo_path, copy)
    opened = Store.open(str(copy), cache=False)
    first = opened.staleness().assets[0]  # the staleness panel's first row
    served = Served(str(copy), "--allow-flags")
    w = Watched(browser)
    try:
        assert "(read-only)" not in served.banner
        screen = Screen(w.page)
        w.page.goto(f"http://127.0.0.1:{served.port}/")
        wait_for_text(w.page, screen, opened.runs[0].run_id)  # the runs table is drawn: the app takes keys
        w.page.locator(".textual-terminal").click()
        w.page.keyboard.press("s")
        wait_for_text(w.page, screen, "need attention")
        _flag_focused_asset(w.page, screen)
        for _ in range(600):  # the app writes the flag file: wait for it, not a timed assertion
            flags = Store.open(str(copy), cache=False).flags()
            if flags:
                break
            time.sleep(0.1)
        assert [(f.asset, f.reason) for f in flags] == [(first.asset, "bad batch")]
    finally:
        w.close()
        served.close()


def test_non_loopback_needs_the_token(demo_path):
    served = Served(str(demo_path), "--host", "0.0.0.0")
    try:
        assert "?token=" in served.banner
        token = served.banner.split("?token=", 1)[1].split()[0]
        base = f"http://127.0.0.1:{served.port}"
        for path in ("/", "/static/js/textual.js", "/?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + path, timeout=60)
            assert err.value.code == 403
        with urllib.request.urlopen(f"{base}/?token={token}", timeout=60) as page:
            assert page.status == 200 and "textual-terminal" in page.read().decode()
            assert "frontier_explore_token" in page.headers.get("Set-Cookie", "")
    finally:
        served.close()


def test_bad_store_is_one_line(cli, tmp_path):
    r = cli("serve", tmp_path / "nope", "--port", str(free_port()))
    assert r.code == 2 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1
