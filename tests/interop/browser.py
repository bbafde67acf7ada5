"""A real headless Chromium as the remote WebRTC peer of an interop test.

:func:`launch_browser` serves ``page.html`` + ``page.js`` (this directory) from a stdlib HTTP
server on 127.0.0.1 (random port), starts Chromium through Playwright for Python with the
system binary (``/usr/bin/chromium``; ``playwright install`` is never needed), opens the
page and returns a :class:`Browser`.  Each :class:`Browser` method is one call of the page's
``window.rtc`` helper, so a test reads like the JavaScript it drives::

    async with launch_browser() as browser:
        await browser.create_pc()
        await browser.create_data_channel("chat")
        offer = await browser.create_offer()
        sdp = await browser.wait_ice_gathering_complete()   # non-trickle: all candidates in
        ...

Binary messages cross the DevTools Protocol as base64; bulk transfers stay inside the page
(``crypto.getRandomValues`` + ``crypto.subtle`` SHA-256) so only hashes and timings come
back.  Leaving the context closes Chromium, kills any process still holding the fresh
``--user-data-dir`` (by pid, only ours), removes it and stops the HTTP server.

Everything runs on the event loop that entered :func:`launch_browser`; the Python peer under
test must use the same loop (see ``conftest.py``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.server
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, ConsoleMessage, Page, Playwright

PAGE_DIR = Path(__file__).resolve().parent
PAGE_FILES = {"/": "page.html", "/page.html": "page.html", "/page.js": "page.js"}

CHROMIUM = os.environ.get("RTCENGINE_CHROMIUM", "/usr/bin/chromium")

# Issue 6's flags.  Playwright's headless=True adds ``--headless`` itself (and its own
# defaults); ours come last, so this ``--disable-features`` is the one Chromium keeps (it keeps
# only the last): without it host candidates are hidden behind mDNS ``.local`` names.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # No name lookups leave the machine; the page is on 127.0.0.1 anyway.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)

DEFAULT_TIMEOUT = 10.0
# Python-side margin over a page-side timeout, so the page reports its own (clearer) error.
_GRACE = 5.0


def chromium_missing() -> str | None:
    """Why the browser harness cannot run here, or None when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (apt-get install chromium, or set RTCENGINE_CHROMIUM)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; no 'playwright install')"
    return None


class PageError(RuntimeError):
    """A JavaScript exception in the page; ``name`` is its error name (``InvalidStateError``,
    ``OperationError``, ``TypeError`` ...)."""

    def __init__(self, method: str, name: str, message: str) -> None:
        super().__init__(f"page {method}: {name}: {message}")
        self.method = method
        self.name = name
        self.message = message


@dataclass(frozen=True)
class BulkResult:
    """One bulk transfer as the page saw it."""

    sha256: str  # hex digest of every byte sent or received
    nbytes: int
    messages: int
    seconds: float  # first to last message (receiver) or first send to last send (sender)


@dataclass(frozen=True)
class Counted:
    """What a counting channel received (message-rate runs)."""

    messages: int
    nbytes: int
    seconds: float  # first to last message

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def _encode(data: str | bytes) -> dict[str, str]:
    if isinstance(data, str):
        return {"kind": "text", "data": data}
    return {"kind": "binary", "data": base64.b64encode(data).decode("ascii")}


def _decode(message: Mapping[str, str]) -> str | bytes:
    if message["kind"] == "text":
        return message["data"]
    return base64.b64decode(message["data"])


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Serves the page and its script, nothing else."""

    def do_GET(self) -> None:
        name = PAGE_FILES.get(self.path.split("?", 1)[0])
        if name is None:
            self.send_error(404)
            return
        body = (PAGE_DIR / name).read_bytes()
        kind = "text/html" if name.endswith(".html") else "text/javascript"
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_page() -> Iterator[str]:
    """An HTTP server for the page on 127.0.0.1 (random port), yielding the page URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="interop-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def processes_using(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker`` (our user-data-dir)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            pids.append(int(entry))
    return pids


def _kill_leftovers(marker: str, wait: float = 5.0) -> list[int]:
    """SIGKILL whatever still runs with ``marker`` in its command line; returns those pids."""
    killed: list[int] = []
    deadline = time.monotonic() + wait
    while True:
        pids = processes_using(marker)
        if not pids:
            return killed
        if time.monotonic() > deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            deadline = time.monotonic() + wait
            if len(killed) > 100:
                raise RuntimeError(f"chromium processes survive SIGKILL: {pids}")
        time.sleep(0.05)


class Browser:
    """The page's WebRTC peer, seen from Python.  Made by :func:`launch_browser`."""

    def __init__(self, page: Page, context: BrowserContext, url: str, user_data_dir: str) -> None:
        self.page = page
        self.context = context
        self.url = url
        self.user_data_dir = user_data_dir
        self.console: list[str] = []  # page console output and uncaught errors, for debugging
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    @property
    def version(self) -> str:
        browser = self.context.browser
        return browser.version if browser is not None else "unknown"

    async def call(self, method: str, *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Call ``method`` of the page helper; raise :class:`PageError` or :class:`TimeoutError`
        for what the page reports."""
        result = await asyncio.wait_for(
            self.page.evaluate("([m, a]) => window.rtc.call(m, a)", [method, list(args)]),
            timeout + _GRACE,
        )
        if "error" in result:
            if result["error"] == "TimeoutError":
                raise TimeoutError(f"page {method}: {result['message']}")
            raise PageError(method, result["error"], result["message"])
        return result["ok"]

    @staticmethod
    def _ms(timeout: float) -> int:
        return int(timeout * 1000)

    # -- peer connection -------------------------------------------------------------------

    async def create_pc(self, config: Mapping[str, Any] | None = None) -> None:
        """A new RTCPeerConnection (closing the previous one).  ``iceServers`` defaults to
        ``[]``: host candidates only, no lookups."""
        merged: dict[str, Any] = {"iceServers": []}
        merged.update(config or {})
        await self.call("createPc", merged)

    async def create_offer(self, options: Mapping[str, Any] | None = None) -> str:
        """createOffer + setLocalDescription; the SDP right away (candidates trickle)."""
        sdp: str = await self.call("createOffer", dict(options or {}))
        return sdp

    async def create_answer(self) -> str:
        """createAnswer + setLocalDescription; the SDP right away (candidates trickle)."""
        sdp: str = await self.call("createAnswer")
        return sdp

    async def set_remote_description(self, type: str, sdp: str) -> None:
        await self.call("setRemoteDescription", type, sdp)

    async def add_ice_candidate(self, candidate: Mapping[str, Any] | None) -> None:
        """A remote candidate as RTCIceCandidateInit (``candidate``, ``sdpMid``,
        ``sdpMLineIndex``), or None for end-of-candidates."""
        await self.call("addIceCandidate", None if candidate is None else dict(candidate))

    async def wait_ice_gathering_complete(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        """The local SDP once gathering is complete, every candidate in it (non-trickle)."""
        sdp: str = await self.call("waitIceGatheringComplete", self._ms(timeout), timeout=timeout)
        return sdp

    async def local_description(self) -> dict[str, str] | None:
        description: dict[str, str] | None = await self.call("localDescription")
        return description

    async def next_candidate(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any] | None:
        """The next trickled local candidate (RTCIceCandidateInit), None at end-of-candidates.
        Chromium's empty end-of-candidates entry (``candidate == ""``) is passed through."""
        wrapped = await self.call("nextCandidate", self._ms(timeout), timeout=timeout)
        candidate: dict[str, Any] | None = wrapped["candidate"]
        return candidate

    async def candidates(self, timeout: float = DEFAULT_TIMEOUT) -> AsyncIterator[dict[str, Any]]:
        """Trickle: every local candidate until end-of-candidates (empty ones skipped)."""
        while (candidate := await self.next_candidate(timeout)) is not None:
            if candidate.get("candidate"):
                yield candidate

    async def states(self) -> dict[str, str]:
        """connectionState, iceConnectionState, iceGatheringState, signalingState."""
        states: dict[str, str] = await self.call("states")
        return states

    async def connection_state(self) -> str:
        return (await self.states())["connectionState"]

    async def signaling_state(self) -> str:
        return (await self.states())["signalingState"]

    async def wait_connection_state(self, *wanted: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait for one of ``wanted``; PageError if the connection fails or closes instead."""
        state: str = await self.call(
            "waitConnectionState", list(wanted), self._ms(timeout), timeout=timeout
        )
        return state

    async def get_stats(self) -> list[dict[str, Any]]:
        """The RTCStatsReport's values (webrtc-stats dictionaries)."""
        stats: list[dict[str, Any]] = await self.call("getStats")
        return stats

    async def close_pc(self) -> None:
        await self.call("closePc")

    # -- data channels ---------------------------------------------------------------------

    async def create_data_channel(
        self, label: str, options: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """createDataChannel(label, RTCDataChannelInit); returns the channel's attributes."""
        info: dict[str, Any] = await self.call("createDataChannel", label, dict(options or {}))
        return info

    async def channel_info(self, label: str) -> dict[str, Any]:
        """label, id, ordered, protocol, negotiated, maxRetransmits, maxPacketLifeTime,
        readyState, bufferedAmount."""
        info: dict[str, Any] = await self.call("channelInfo", label)
        return info

    async def wait_channel_open(self, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the channel (local, or announced by the remote peer) is open."""
        await self.call("waitChannelState", label, "open", self._ms(timeout), timeout=timeout)

    async def wait_channel_closed(self, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        await self.call("waitChannelState", label, "closed", self._ms(timeout), timeout=timeout)

    async def close_channel(self, label: str) -> None:
        await self.call("closeChannel", label)

    async def send(self, label: str, data: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message; empty ones included."""
        await self.call("send", label, _encode(data))

    async def send_many(self, label: str, messages: Iterable[str | bytes]) -> None:
        """Send every message in one DevTools round trip (no flow control: keep it small)."""
        await self.call("sendMany", label, [_encode(m) for m in messages])

    async def next_message(self, label: str, timeout: float = DEFAULT_TIMEOUT) -> str | bytes:
        """The next message the channel received: str for text, bytes for binary."""
        return _decode(await self.call("nextMessage", label, self._ms(timeout), timeout=timeout))

    async def next_messages(
        self, label: str, count: int, timeout: float = DEFAULT_TIMEOUT
    ) -> list[str | bytes]:
        """Up to ``count`` messages, waiting at most ``timeout`` in all: fewer is not an
        error (unreliable channels), so check the length."""
        messages = await self.call("nextMessages", label, count, self._ms(timeout), timeout=timeout)
        return [_decode(m) for m in messages]

    async def pending_messages(self, label: str) -> int:
        count: int = await self.call("pendingMessages", label)
        return count

    async def echo(self, label: str) -> None:
        """Make the page an echo peer on ``label``: every message goes straight back, same
        type (already queued ones too)."""
        await self.call("setMode", label, "echo")

    # -- bulk and rate helpers (the data stays in the page) --------------------------------

    async def send_bulk(
        self,
        label: str,
        nbytes: int,
        chunk_size: int = 65536,
        timeout: float = 60.0,
    ) -> BulkResult:
        """Send ``nbytes`` random bytes in ``chunk_size`` binary messages under flow control;
        the result carries their SHA-256 for the receiver to compare."""
        return BulkResult(**await self.call("sendBulk", label, nbytes, chunk_size, timeout=timeout))

    async def expect_bulk(self, label: str, nbytes: int) -> None:
        """Arm a sink on ``label``: the next ``nbytes`` bytes received are collected in the
        page (not returned); :meth:`bulk_result` waits for them and hashes them."""
        await self.call("expectBulk", label, nbytes)

    async def bulk_result(self, label: str, timeout: float = 60.0) -> BulkResult:
        return BulkResult(
            **await self.call("bulkResult", label, self._ms(timeout), timeout=timeout)
        )

    async def send_burst(
        self, label: str, count: int, size: int, *, text: bool = False, timeout: float = 60.0
    ) -> float:
        """Send ``count`` messages of ``size`` bytes as fast as flow control allows; seconds
        the page spent sending."""
        seconds: float = await self.call("sendBurst", label, count, size, text, timeout=timeout)
        return seconds

    async def start_counting(self, label: str) -> None:
        """Count (not keep) what ``label`` receives from now on; read it with :meth:`counted`."""
        await self.call("startCounting", label)

    async def counted(self, label: str, expected: int, timeout: float = 30.0) -> Counted:
        """Wait until ``expected`` messages were counted or ``timeout``; what arrived either way."""
        return Counted(
            **await self.call("counted", label, expected, self._ms(timeout), timeout=timeout)
        )


@contextlib.asynccontextmanager
async def launch_browser(
    user_data_dir: str | os.PathLike[str] | None = None, *, extra_flags: tuple[str, ...] = ()
) -> AsyncIterator[Browser]:
    """Serve the page, start headless Chromium with a fresh profile, open the page.

    ``user_data_dir`` must be empty or missing; default: a new temporary directory, removed
    at exit."""
    from playwright.async_api import async_playwright

    reason = chromium_missing()
    if reason is not None:
        raise RuntimeError(reason)
    own_dir = user_data_dir is None
    if user_data_dir is None:
        profile = tempfile.mkdtemp(prefix="rtcengine-chromium-")
    else:
        profile = os.fspath(user_data_dir)
    playwright: Playwright | None = None
    context: BrowserContext | None = None
    try:
        with serve_page() as url:
            playwright = await async_playwright().start()
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=[*CHROMIUM_FLAGS, *extra_flags],
            )
            page = context.pages[0] if context.pages else await context.new_page()
            browser = Browser(page, context, url, profile)
            await page.goto(url)
            await page.wait_for_function("window.rtc !== undefined", timeout=10_000)
            try:
                yield browser
            finally:
                with contextlib.suppress(Exception):
                    await browser.close_pc()
    finally:
        if context is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), 10)
        if playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(playwright.stop(), 10)
        await asyncio.get_running_loop().run_in_executor(None, _kill_leftovers, profile)
        if own_dir:
            shutil.rmtree(profile, ignore_errors=True)
