"""Engine-agnostic helpers for peer-connection tests: rtcengine <-> rtcengine
and rtcengine <-> aiortc use the same code (the W3C/aiortc API only)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
from typing import Any


class Side:
    """One peer connection of engine ``engine`` ("rtcengine" or "aiortc"),
    with its channels by label and their messages queued from birth."""

    def __init__(self, engine: str, configuration: Any = None) -> None:
        self.engine = engine
        self.module = importlib.import_module(engine)
        self.pc = self.module.RTCPeerConnection(configuration)
        self.channels: dict[str, Any] = {}
        self.queues: dict[str, asyncio.Queue[Any]] = {}
        self.opened: dict[str, asyncio.Event] = {}
        self.closed: dict[str, asyncio.Event] = {}
        self.announced = asyncio.Event()
        self.states: list[str] = []
        self.pc.on("datachannel", self._adopt)
        self.pc.on("connectionstatechange", lambda: self.states.append(self.pc.connectionState))

    def _adopt(self, channel: Any) -> None:
        self._track(channel)
        self.announced.set()

    def _track(self, channel: Any) -> Any:
        label = channel.label
        self.channels[label] = channel
        self.queues[label] = asyncio.Queue()
        self.opened[label] = asyncio.Event()
        self.closed[label] = asyncio.Event()
        channel.on("message", self.queues[label].put_nowait)
        channel.on("open", self.opened[label].set)
        channel.on("close", self.closed[label].set)
        if channel.readyState == "open":
            self.opened[label].set()
        return channel

    def create(self, label: str, **options: Any) -> Any:
        return self._track(self.pc.createDataChannel(label, **options))

    async def channel(self, label: str, timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            while label not in self.channels:
                self.announced.clear()
                await self.announced.wait()
            await self.opened[label].wait()
        return self.channels[label]

    async def next(self, label: str, timeout: float = 10.0) -> Any:
        return await asyncio.wait_for(self.queues[label].get(), timeout)

    def description(self, desc: Any) -> Any:
        return self.module.RTCSessionDescription(sdp=desc.sdp, type=desc.type)

    @property
    def max_message_size(self) -> int:
        return 262144 if self.engine == "rtcengine" else 65536

    async def close(self) -> None:
        await self.pc.close()


async def negotiate(offerer: Side, answerer: Side) -> None:
    """One non-trickle offer/answer exchange (localDescription has the candidates)."""
    await offerer.pc.setLocalDescription(await offerer.pc.createOffer())
    await answerer.pc.setRemoteDescription(answerer.description(offerer.pc.localDescription))
    await answerer.pc.setLocalDescription(await answerer.pc.createAnswer())
    await offerer.pc.setRemoteDescription(offerer.description(answerer.pc.localDescription))


async def connect(offerer: Side, answerer: Side, label: str = "chat",
                  **options: Any) -> tuple[Any, Any]:
    """Create ``label`` on the offerer, negotiate, wait until both ends are open."""
    ours = offerer.create(label, **options)
    await negotiate(offerer, answerer)
    theirs = await answerer.channel(label)
    await asyncio.wait_for(offerer.opened[label].wait(), 10)
    return ours, theirs


async def send_bulk(side: Side, label: str, nbytes: int, chunk: int) -> str:
    """Send ``nbytes`` random bytes in ``chunk``-sized messages under
    bufferedAmount flow control; the SHA-256 of what was sent."""
    channel = side.channels[label]
    data = os.urandom(nbytes)
    drained = asyncio.Event()
    channel.bufferedAmountLowThreshold = 1 << 20
    channel.on("bufferedamountlow", drained.set)
    for i in range(0, nbytes, chunk):
        while channel.bufferedAmount > 4 << 20:
            drained.clear()
            await asyncio.wait_for(drained.wait(), 30)
        channel.send(data[i:i + chunk])
    return hashlib.sha256(data).hexdigest()


async def receive_bulk(side: Side, label: str, nbytes: int, timeout: float = 60.0) -> str:
    digest = hashlib.sha256()
    got = 0
    async with asyncio.timeout(timeout):
        while got < nbytes:
            data = await side.queues[label].get()
            assert isinstance(data, bytes)
            digest.update(data)
            got += len(data)
    assert got == nbytes
    return digest.hexdigest()


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(interval)
