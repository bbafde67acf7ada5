"""Helpers for the ORTC transport tests: rtcengine stacks on loopback with
parameters and candidates exchanged by hand."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from rtcengine.ice.config import IceConfig
from rtcengine.rtccertificate import RTCCertificate
from rtcengine.rtcdatachannel import RTCDataChannel
from rtcengine.rtcdtlstransport import RTCDtlsTransport
from rtcengine.rtcicetransport import RTCIceGatherer, RTCIceTransport
from rtcengine.rtcsctptransport import RTCSctpTransport


def loopback_config() -> IceConfig:
    return IceConfig(include_loopback=True, interface_filter=lambda name, ip: ip == "127.0.0.1")


@dataclass
class Stack:
    gatherer: RTCIceGatherer
    ice: RTCIceTransport
    dtls: RTCDtlsTransport
    sctp: RTCSctpTransport
    channels: list[RTCDataChannel] = field(default_factory=list)

    async def stop(self) -> None:
        await self.sctp.stop()
        await self.dtls.stop()
        await self.ice.stop()


def make_stack(role: str, certificate: RTCCertificate | None = None, **agent: Any) -> Stack:
    gatherer = RTCIceGatherer(config=loopback_config(), **agent)
    ice = RTCIceTransport(gatherer)
    ice.role = role
    dtls = RTCDtlsTransport(ice, [certificate or RTCCertificate.generateCertificate()])
    sctp = RTCSctpTransport(dtls)
    stack = Stack(gatherer, ice, dtls, sctp)
    sctp.on("datachannel", stack.channels.append)
    return stack


async def connect_ice(a: Stack, b: Stack) -> None:
    """Gather, trade candidates and credentials, run ICE."""
    await asyncio.gather(a.gatherer.gather(), b.gatherer.gather())
    for src, dst in ((a, b), (b, a)):
        for c in src.gatherer.getLocalCandidates():
            await dst.ice.addRemoteCandidate(c)
        await dst.ice.addRemoteCandidate(None)
    await asyncio.wait_for(asyncio.gather(
        a.ice.start(b.gatherer.getLocalParameters()),
        b.ice.start(a.gatherer.getLocalParameters())), 5)


async def connect(a: Stack, b: Stack) -> None:
    await connect_ice(a, b)
    await asyncio.wait_for(asyncio.gather(
        a.dtls.start(b.dtls.getLocalParameters()),
        b.dtls.start(a.dtls.getLocalParameters())), 5)
    assert a.dtls.state == b.dtls.state == "connected"
    await asyncio.gather(
        a.sctp.start(b.sctp.getCapabilities(), b.sctp.port),
        b.sctp.start(a.sctp.getCapabilities(), a.sctp.port))


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coro())
