"""``rtcengine demo`` in headless Chromium: the page connects, the engine
echoes, the charts get getStats() samples with moving byte counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rtcengine.cli import build_parser
from rtcengine.demo import DemoServer
from tests.interop.browser import Browser

pytestmark = pytest.mark.interop


def test_demo_subcommand_parses() -> None:
    args = build_parser().parse_args(["demo", "--port", "0"])
    assert args.command == "demo" and args.port == 0


def test_demo_in_chromium(browser: Browser, run: Callable[..., Any]) -> None:
    async def main() -> None:
        server = DemoServer("127.0.0.1", 0)
        await server.start()
        page = browser.page
        try:
            await page.goto(server.url)
            await page.click("#connect")
            await page.wait_for_function(
                "window.demo.echo && window.demo.echo.readyState === 'open'", timeout=15000)
            await page.fill("#text", "ping from chromium")
            await page.click("#send")
            await page.wait_for_function("window.demo.echoed.length === 1", timeout=10000)
            assert await page.evaluate("window.demo.echoed[0]") == "ping from chromium"
            await page.click("#flood")
            await page.wait_for_function(
                "window.demo.samples.length >= 4 && window.demo.stats.floodBytes > 1e6",
                timeout=20000)
            await page.click("#flood")  # stop
            samples = await page.evaluate("window.demo.samples")
            stats = await page.evaluate("window.demo.stats")
            assert stats["connectionState"] == "connected" and stats["echoed"] == 1
            assert samples[-1]["bytesReceived"] > samples[0]["bytesReceived"]
            assert any(s["rx"] > 0 for s in samples)
            assert stats.get("iceRtt") is not None
            # The canvas got drawn on.
            drawn = await page.evaluate(
                "$('tput').getContext('2d').getImageData(0, 0, 800, 180).data.some(v => v)")
            assert drawn
            assert len(server.sessions) == 1
        finally:
            await page.evaluate("window.demo.pc && window.demo.pc.close()")
            await server.close()
            await page.goto(browser.url)  # back to the harness page for other tests

    run(main, timeout=60)
