"""The Python side of a browser interop test: which engine, and small helpers over it.

The engine is a :class:`Peer`, loaded by name.  Only "aiortc" exists today; rtcengine's
RTCPeerConnection is meant to pass the same tests by adding its name to the ``peer`` fixture
(``test_browser_aiortc.py``) and one branch to :func:`load_peer`.  Everything else here uses
the aiortc/W3C API only (``createOffer``, ``setLocalDescription``, ``localDescription.sdp``,
``createDataChannel(label, ordered=, maxRetransmits=)``, ``pc.on("datachannel")``,
``channel.on("open"|"message"|"close"|"bufferedamountlow")``, ``bufferedAmount``,
``bufferedAmountLowThreshold``, ``addIceCandidate``)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.interop.browser import Browser


@dataclass(frozen=True)
class Peer:
    """A Python WebRTC engine under test."""

    name: str
    RTCPeerConnection: Any
    RTCSessionDescription: Any
    # A browser's RTCIceCandidateInit dict -> what this engine's addIceCandidate takes.
    candidate_from_browser: Callable[[Mapping[str, Any]], Any]


def _aiortc_candidate(init: Mapping[str, Any]) -> Any:
    from aiortc.sdp import candidate_from_sdp

    line: str = init["candidate"]
    candidate = candidate_from_sdp(line.removeprefix("candidate:"))
    candidate.sdpMid = init.get("sdpMid")
    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
    return candidate


def load_peer(name: str) -> Peer:
    module = importlib.import_module(name)
    if name == "aiortc":
        return Peer(name, module.RTCPeerConnection, module.RTCSessionDescription, _aiortc_candidate)
    if name == "rtcengine":
        # rtcengine's addIceCandidate takes the browser's RTCIceCandidateInit dict as is.
        return Peer(name, module.RTCPeerConnection, module.RTCSessionDescription, dict)
    raise ValueError(f"unknown Python peer {name!r}")


class Channel:
    """A Python-side RTCDataChannel with its events collected from birth (so none is
    missed between creation and the first await)."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.messages: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self._drained = asyncio.Event()
        channel.on("message", self.messages.put_nowait)
        channel.on("open", self.opened.set)
        channel.on("close", self.closed.set)
        channel.on("bufferedamountlow", self._drained.set)
        if channel.readyState == "open":
            self.opened.set()

    @property
    def label(self) -> str:
        label: str = self.channel.label
        return label

    async def wait_open(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.opened.wait(), timeout)

    async def wait_closed(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout)

    async def next(self, timeout: float = 10.0) -> str | bytes:
        return await asyncio.wait_for(self.messages.get(), timeout)

    def send(self, data: str | bytes) -> None:
        self.channel.send(data)

    async def send_flow_controlled(
        self, chunks: list[bytes] | list[str], high: int = 4 << 20, low: int = 1 << 20
    ) -> None:
        """Send every chunk, pausing above ``high`` buffered bytes until bufferedamountlow."""
        self.channel.bufferedAmountLowThreshold = low
        for chunk in chunks:
            if self.channel.bufferedAmount > high:
                self._drained.clear()
                while self.channel.bufferedAmount > low:
                    await asyncio.wait_for(self._drained.wait(), 30)
                    self._drained.clear()
            self.channel.send(chunk)

    async def receive_bulk(self, nbytes: int, timeout: float = 60.0) -> str:
        """Receive ``nbytes`` of binary messages; their SHA-256 (hex)."""
        digest = hashlib.sha256()
        received = 0
        async with asyncio.timeout(timeout):
            while received < nbytes:
                data = await self.messages.get()
                assert isinstance(data, bytes), f"bulk message is {type(data).__name__}"
                digest.update(data)
                received += len(data)
        assert received == nbytes, f"received {received} bytes, expected {nbytes}"
        return digest.hexdigest()


class PythonSide:
    """One Python RTCPeerConnection with its data channels kept by label."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.pc = peer.RTCPeerConnection()
        self.channels: dict[str, Channel] = {}
        self._announced = asyncio.Event()
        self.pc.on("datachannel", self._on_datachannel)

    def _on_datachannel(self, channel: Any) -> None:
        self.channels[channel.label] = Channel(channel)
        self._announced.set()

    def create_data_channel(self, label: str, **options: Any) -> Channel:
        channel = Channel(self.pc.createDataChannel(label, **options))
        self.channels[label] = channel
        return channel

    async def channel(self, label: str, timeout: float = 10.0) -> Channel:
        """The channel labelled ``label``, waiting for the remote peer to announce it."""
        async with asyncio.timeout(timeout):
            while label not in self.channels:
                self._announced.clear()
                await self._announced.wait()
        return self.channels[label]

    async def close(self) -> None:
        await self.pc.close()


@dataclass(frozen=True)
class Negotiated:
    browser_sdp: str  # the browser's SDP as the Python peer got it
    trickled: int  # candidates passed through addIceCandidate afterwards


async def negotiate(
    browser: Browser, python: PythonSide, offerer: str, *, trickle: bool = False
) -> Negotiated:
    """One offer/answer exchange; ``offerer`` is "python" or "browser".

    Non-trickle (default): the browser's SDP is taken after gathering completes, with every
    candidate in it.  ``trickle=True``: the browser's SDP goes out at once and its candidates
    follow one by one through ``addIceCandidate``, then end-of-candidates.  (aiortc itself
    does not trickle: its SDP always carries all its candidates.)"""
    description = python.peer.RTCSessionDescription
    if offerer == "python":
        await python.pc.setLocalDescription(await python.pc.createOffer())
        await browser.set_remote_description("offer", python.pc.localDescription.sdp)
        answer = await browser.create_answer()
        if not trickle:
            answer = await browser.wait_ice_gathering_complete()
        await python.pc.setRemoteDescription(description(sdp=answer, type="answer"))
        browser_sdp = answer
    elif offerer == "browser":
        offer = await browser.create_offer()
        if not trickle:
            offer = await browser.wait_ice_gathering_complete()
        await python.pc.setRemoteDescription(description(sdp=offer, type="offer"))
        await python.pc.setLocalDescription(await python.pc.createAnswer())
        await browser.set_remote_description("answer", python.pc.localDescription.sdp)
        browser_sdp = offer
    else:
        raise ValueError(f"offerer must be 'python' or 'browser', not {offerer!r}")
    trickled = 0
    if trickle:
        async for candidate in browser.candidates():
            await python.pc.addIceCandidate(python.peer.candidate_from_browser(candidate))
            trickled += 1
        await python.pc.addIceCandidate(None)
    return Negotiated(browser_sdp, trickled)


async def open_channel(
    browser: Browser,
    python: PythonSide,
    offerer: str,
    label: str = "chat",
    options: Mapping[str, Any] | None = None,
    *,
    trickle: bool = False,
) -> Channel:
    """Create ``label`` on the offering side, negotiate, wait until both ends are open; the
    Python end."""
    options = dict(options or {})
    if offerer == "browser":
        await browser.create_data_channel(label, options)
    else:
        python.create_data_channel(label, **options)
    await negotiate(browser, python, offerer, trickle=trickle)
    channel = await python.channel(label)
    await channel.wait_open()
    await browser.wait_channel_open(label)
    return channel
