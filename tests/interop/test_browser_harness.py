"""The browser harness itself: flags took effect, errors and timeouts come back typed, the
page server serves only the page, and leaving ``launch_browser`` leaves no process behind.

This module launches its own short-lived Chromium (not the module fixture) so that it can
check what remains after teardown."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.interop.browser import PageError, chromium_missing, launch_browser, processes_using

pytestmark = [
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


def _fetch_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def test_harness_and_clean_teardown(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    seen: dict[str, object] = {}

    async def main() -> None:
        async with launch_browser(profile) as browser:
            seen["url"] = browser.url
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/page\.html", browser.url)
            assert processes_using(str(profile)), "chromium should be running"
            assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", browser.version)

            loop = asyncio.get_running_loop()
            base = browser.url.rsplit("/", 1)[0]
            assert await loop.run_in_executor(None, _fetch_status, f"{base}/page.js") == 200
            assert await loop.run_in_executor(None, _fetch_status, f"{base}/browser.py") == 404

            # Calls before a peer connection exist fail with the page's message.
            with pytest.raises(PageError, match="no RTCPeerConnection"):
                await browser.create_offer()

            await browser.create_pc()
            await browser.create_data_channel("x")
            offer = await browser.create_offer()
            assert "a=candidate:" not in offer  # the SDP comes before gathering ends
            candidates = [c async for c in browser.candidates()]
            # WebRtcHideLocalIpsWithMdns is off: host candidates carry interface addresses,
            # not .local names.
            assert candidates and all(".local" not in c["candidate"] for c in candidates)
            assert all(" typ host" in c["candidate"] for c in candidates)  # iceServers: []
            sdp = await browser.wait_ice_gathering_complete()
            assert sdp.count("a=candidate:") == len(candidates)
            assert await browser.signaling_state() == "have-local-offer"

            # DOMException names reach Python.
            with pytest.raises(PageError) as caught:
                await browser.set_remote_description("answer", "v=0\r\ngarbage\r\n")
            assert caught.value.name in {"OperationError", "InvalidAccessError", "SyntaxError"}

            # Page-side timeouts are TimeoutError, not hangs.
            with pytest.raises(TimeoutError):
                await browser.next_candidate(timeout=0.2)
            with pytest.raises(TimeoutError):
                await browser.wait_channel_open("x", timeout=0.2)

            await browser.close_pc()
            assert await browser.connection_state() == "closed"
            assert not browser.console or all("pageerror" not in m for m in browser.console)

    asyncio.run(asyncio.wait_for(main(), 60))

    assert processes_using(str(profile)) == []
    pgrep = shutil.which("pgrep")
    if pgrep is not None:  # the same check by another tool; other sessions' chromium ignored
        found = subprocess.run([pgrep, "-f", str(profile)], capture_output=True, text=True)
        assert found.returncode == 1 and found.stdout == "", found.stdout
    with pytest.raises(OSError):  # the page server is gone
        urllib.request.urlopen(str(seen["url"]), timeout=2)
