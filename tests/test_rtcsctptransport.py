"""RTCSctpTransport (webrtc-pc §6.1.1, RFC 8831/8832/8841) between two
rtcengine stacks on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine.exceptions import InvalidStateError
from rtcengine.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from rtcengine.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport
from tests.ortc_stack import Stack, connect, connect_ice, make_stack, run, until


async def started(a_caps: int | None = None, b_caps: int | None = None) -> tuple[Stack, Stack]:
    a, b = make_stack("controlling"), make_stack("controlled")
    await connect_ice(a, b)
    await asyncio.gather(a.dtls.start(b.dtls.getLocalParameters()),
                         b.dtls.start(a.dtls.getLocalParameters()))
    await asyncio.gather(
        a.sctp.start(None if b_caps is None else RTCSctpCapabilities(b_caps), 5000),
        b.sctp.start(None if a_caps is None else RTCSctpCapabilities(a_caps), 5000))
    await until(lambda: a.sctp.state == b.sctp.state == "connected")
    return a, b


def test_capabilities_and_attributes() -> None:
    caps = RTCSctpTransport.getCapabilities()
    assert caps == RTCSctpCapabilities(maxMessageSize=262144)

    async def main() -> None:
        a = make_stack("controlling")
        assert a.sctp.state == "new" and a.sctp.port == 5000
        assert a.sctp.transport is a.dtls and a.sctp.maxChannels is None
        with pytest.raises(InvalidStateError):
            await a.sctp.start(caps, 5000)  # DTLS never started: not connected
        await a.stop()
        with pytest.raises(InvalidStateError):
            RTCSctpTransport(a.dtls)

    run(main)


def test_negotiated_channels_and_remote_max_message_size() -> None:
    async def main() -> None:
        # b says it takes 1000 bytes; a's says nothing: RFC 8841 §6.1 64 KiB.
        a, b = await started(a_caps=None, b_caps=1000)
        assert a.sctp.maxMessageSize == 1000 and b.sctp.maxMessageSize == 65536
        assert a.sctp.maxChannels == 65535
        ca = RTCDataChannel(a.sctp, RTCDataChannelParameters("neg", negotiated=True, id=7))
        cb = RTCDataChannel(b.sctp, RTCDataChannelParameters("neg", negotiated=True, id=7))
        await until(lambda: ca.readyState == cb.readyState == "open")
        assert b.channels == []  # negotiated: no datachannel event
        got: list[Any] = []
        cb.on("message", got.append)
        ca.send(b"x" * 1000)
        with pytest.raises(TypeError):
            ca.send(b"x" * 1001)  # webrtc-pc §6.2: above maxMessageSize
        await until(lambda: len(got) == 1)
        with pytest.raises(TypeError):  # aiortc raised ValueError: both work
            RTCDataChannel(a.sctp, RTCDataChannelParameters("bad", negotiated=True))
        with pytest.raises(ValueError):
            RTCDataChannel(a.sctp, RTCDataChannelParameters(maxRetransmits=1,
                                                            maxPacketLifeTime=10))
        await a.stop()
        await b.stop()

    run(main)


def test_in_band_channels_after_start_and_unordered() -> None:
    async def main() -> None:
        a, b = await started()
        ch = RTCDataChannel(b.sctp, RTCDataChannelParameters(
            "u", ordered=False, maxRetransmits=0, protocol="proto"))
        await until(lambda: ch.readyState == "open" and len(a.channels) == 1)
        remote = a.channels[0]
        assert ch.id is not None and ch.id % 2 == 0  # RFC 8832 §6: DTLS client, even
        assert (remote.ordered, remote.maxRetransmits, remote.protocol) == (False, 0, "proto")
        got: list[Any] = []
        remote.on("message", got.append)
        for i in range(100):
            ch.send(str(i))
        await until(lambda: len(got) == 100)
        assert sorted(int(x) for x in got) == list(range(100))
        await a.stop()
        await b.stop()

    run(main)


def test_buffered_amount_low_event() -> None:
    async def main() -> None:
        a, b = await started()
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters("b"))
        ch.bufferedAmountLowThreshold = 1000
        assert ch.bufferedAmountLowThreshold == 1000
        await until(lambda: ch.readyState == "open")
        lows: list[int] = []
        ch.on("bufferedamountlow", lambda: lows.append(ch.bufferedAmount))
        for _ in range(20):
            ch.send(b"z" * 10000)
        assert ch.bufferedAmount == 200000
        await until(lambda: lows != [])
        assert lows[0] <= 1000
        await a.stop()
        await b.stop()

    run(main)


@pytest.mark.parametrize("closer", ["a", "b"])
def test_stop_from_either_side_closes_everything(closer: str) -> None:
    async def main() -> None:
        a, b = await started()
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters("c"))
        await until(lambda: len(b.channels) == 1 and ch.readyState == "open")
        closes: list[str] = []
        ch.on("close", lambda: closes.append("a"))
        b.channels[0].on("close", lambda: closes.append("b"))
        first, second = (a, b) if closer == "a" else (b, a)
        await first.sctp.stop()  # RFC 9260 §9.2 SHUTDOWN, acknowledged
        assert first.sctp.state == "closed"
        await until(lambda: second.sctp.state == "closed")
        await until(lambda: sorted(closes) == ["a", "b"])
        assert ch.readyState == "closed"
        assert second.sctp._association is not None
        assert second.sctp._association.close_reason is not None
        with pytest.raises(InvalidStateError):
            RTCDataChannel(first.sctp, RTCDataChannelParameters("late"))
        with pytest.raises(InvalidStateError):
            await first.sctp.start(None, 5000)
        await a.stop()
        await b.stop()

    run(main)


def test_dtls_close_under_sctp_closes_channels() -> None:
    async def main() -> None:
        a, b = await started()
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters("d"))
        await until(lambda: ch.readyState == "open")
        await b.dtls.stop()  # close_notify: a's DTLS closes, SCTP with it
        await until(lambda: a.sctp.state == "closed" and ch.readyState == "closed")
        assert b.sctp.state == "closed"
        await a.stop()
        await b.stop()

    run(main)


def test_pending_channel_closed_before_start() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters("p"))
        closed: list[int] = []
        ch.on("close", lambda: closed.append(1))
        ch.close()
        assert ch.readyState == "closed" and closed == [1]
        keep = RTCDataChannel(a.sctp, RTCDataChannelParameters("k", negotiated=True, id=3))
        with pytest.raises(InvalidStateError):
            RTCDataChannel(a.sctp, RTCDataChannelParameters("k2", negotiated=True, id=3))
        keep.bufferedAmountLowThreshold = 5
        assert keep.bufferedAmount == 0
        peer = RTCDataChannel(b.sctp, RTCDataChannelParameters("k", negotiated=True, id=3))
        await connect(a, b)
        await until(lambda: keep.readyState == peer.readyState == "open")
        assert a.sctp._manager is not None and 3 in a.sctp._manager.channels
        assert keep.bufferedAmountLowThreshold == 5
        await a.stop()
        await b.stop()

    run(main)


def test_stop_when_peer_vanished_aborts_after_timeout() -> None:
    async def main() -> None:
        a, b = await started()
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters("v"))
        await until(lambda: ch.readyState == "open")
        await b.ice.stop()  # the peer is gone; our ICE has not noticed yet
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await a.sctp.stop()  # SHUTDOWN unanswered: ABORT after the timeout
        assert loop.time() - t0 < 2.0
        assert a.sctp.state == "closed" and ch.readyState == "closed"
        await a.stop()
        await b.stop()

    run(main)
