"""Two rtcengine ORTC stacks (RTCIceGatherer/RTCIceTransport ->
RTCDtlsTransport -> RTCSctpTransport -> RTCDataChannel) on loopback, with
parameters and candidates exchanged by hand."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
from typing import Any

import pytest

from rtcengine.exceptions import InvalidStateError
from rtcengine.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from tests.ortc_stack import connect, make_stack, open_fds, run, until


def test_two_stacks_exchange_messages_and_close() -> None:
    async def main() -> None:
        fds = open_fds()
        a, b = make_stack("controlling"), make_stack("controlled")
        states: dict[str, list[str]] = {"ice": [], "dtls": [], "sctp": []}
        a.ice.on("statechange", lambda: states["ice"].append(a.ice.state))
        a.dtls.on("statechange", lambda: states["dtls"].append(a.dtls.state))
        a.sctp.on("statechange", lambda: states["sctp"].append(a.sctp.state))
        # Created before the transports start: opened once SCTP is up.
        early = RTCDataChannel(a.sctp, RTCDataChannelParameters(label="early", protocol="p"))
        assert early.id is None and early.readyState == "connecting"
        with pytest.raises(InvalidStateError):
            early.send("too soon")
        await connect(a, b)
        # ORTC: the controlling agent is the DTLS server (aiortc's rule).
        assert (a.dtls.role, b.dtls.role) == ("server", "client")
        await until(lambda: early.readyState == "open" and len(b.channels) == 1)
        assert a.sctp.state == b.sctp.state == "connected"
        assert early.id is not None and early.id % 2 == 1  # RFC 8832 §6: server odd
        remote = b.channels[0]
        assert (remote.label, remote.protocol, remote.id) == ("early", "p", early.id)
        assert remote.transport is b.sctp and early.transport is a.sctp
        pair = a.ice.getSelectedCandidatePair()
        assert pair is not None and pair.remote.port == b.gatherer.getLocalCandidates()[0].port

        got_b: list[Any] = []
        got_a: list[Any] = []
        remote.on("message", got_b.append)
        early.on("message", got_a.append)
        size = int(a.sctp.maxMessageSize)
        assert size == 262144
        big = os.urandom(size)
        for msg in ("hello", "", b"", b"\x00\x01", os.urandom(65536), big, "é" * 1000):
            early.send(msg)
        remote.send("back")
        remote.send(b"")
        await until(lambda: len(got_b) == 7 and len(got_a) == 2)
        assert got_b[:4] == ["hello", "", b"", b"\x00\x01"]
        assert len(got_b[4]) == 65536 and got_b[5] == big and got_b[6] == "é" * 1000
        assert got_a == ["back", b""]
        with pytest.raises(TypeError):
            early.send(b"x" * (size + 1))

        stats = a.sctp._get_stats()
        dc = next(s for s in stats if s["type"] == "data-channel")
        assert dc["messagesSent"] == 7 and dc["messagesReceived"] == 2
        assert dc["bytesReceived"] == 4 and dc["label"] == "early"
        assert dc["dataChannelIdentifier"] == early.id
        t = a.dtls._get_stats()
        assert t["dtlsState"] == "connected" and t["tlsVersion"] == "FEFD"
        assert t["bytesSent"] > size and t["packetsReceived"] > 0
        assert t["srtpCipher"] is not None
        assert a.dtls.getRemoteCertificates() == [b.dtls._certificate.certificate_der]

        # Close the channel from the receiving side: both ends close.
        closed: list[str] = []
        early.on("close", lambda: closed.append("a"))
        remote.on("close", lambda: closed.append("b"))
        remote.close()
        await until(lambda: sorted(closed) == ["a", "b"])
        assert early.readyState == remote.readyState == "closed"

        await a.stop()
        await until(lambda: b.sctp.state == "closed")
        await b.stop()
        assert states["ice"][-1] == "closed" and "checking" in states["ice"]
        assert states["dtls"] == ["connecting", "connected", "closed"]
        assert states["sctp"] == ["connecting", "connected", "closed"]
        assert b.dtls.state == "closed" and b.ice.state == "closed"
        await asyncio.sleep(0)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert tasks == []
        gc.collect()
        assert open_fds() == fds

    run(main)


def test_bulk_transfer_is_byte_exact() -> None:
    async def main() -> None:
        a, b = make_stack("controlled"), make_stack("controlling")
        await connect(a, b)
        ch = RTCDataChannel(a.sctp, RTCDataChannelParameters(label="bulk"))
        await until(lambda: ch.readyState == "open" and len(b.channels) == 1)
        total = 8 * 1024 * 1024
        digest_in = hashlib.sha256()
        received = [0]

        def on_message(m: bytes) -> None:
            digest_in.update(m)
            received[0] += len(m)

        b.channels[0].on("message", on_message)
        digest_out = hashlib.sha256()
        low = asyncio.Event()
        ch.bufferedAmountLowThreshold = 256 * 1024
        ch.on("bufferedamountlow", low.set)
        sent = 0
        while sent < total:
            while sent < total and ch.bufferedAmount < 1024 * 1024:
                chunk = os.urandom(65536)
                digest_out.update(chunk)
                ch.send(chunk)
                sent += len(chunk)
            low.clear()
            if sent < total:
                await asyncio.wait_for(low.wait(), 10)
        await until(lambda: received[0] == total, 30)
        assert digest_in.digest() == digest_out.digest()
        await a.stop()
        await b.stop()

    run(main)


# ---------------------------------------------------------------- interop with aiortc's ORTC


@pytest.mark.interop
@pytest.mark.parametrize("ours_controlling", [True, False], ids=["ours-dtls-server",
                                                                 "ours-dtls-client"])
def test_interop_with_aiortc_ortc_classes(ours_controlling: bool) -> None:
    """aiortc's RTCIceGatherer/RTCIceTransport/RTCDtlsTransport/RTCSctpTransport
    against ours: ICE, DTLS (both roles: ORTC picks the controlling agent as
    server), SCTP (aiortc always sends INIT: a collision when we are the DTLS
    client), channels opened in band from both sides, messages both ways."""
    aiortc = pytest.importorskip("aiortc")
    from rtcengine.ice.config import IceConfig
    from rtcengine.rtccertificate import RTCCertificate
    from rtcengine.rtcdtlstransport import RTCDtlsTransport
    from rtcengine.rtcicetransport import RTCIceGatherer, RTCIceTransport
    from rtcengine.rtcsctptransport import RTCSctpTransport

    async def main() -> None:
        fds = open_fds()
        their_gatherer = aiortc.RTCIceGatherer(iceServers=[])
        their_ice = aiortc.RTCIceTransport(their_gatherer)
        # aioice leaves loopback out: meet on the interface addresses.
        our_gatherer = RTCIceGatherer(config=IceConfig(use_ipv6=False))
        our_ice = RTCIceTransport(our_gatherer)
        if ours_controlling:
            our_ice.role = "controlling"
        else:
            their_ice._connection.ice_controlling = True
        their_dtls = aiortc.RTCDtlsTransport(their_ice, [aiortc.RTCCertificate.generateCertificate()])
        our_dtls = RTCDtlsTransport(our_ice, [RTCCertificate.generateCertificate()])
        their_sctp = aiortc.RTCSctpTransport(their_dtls)
        our_sctp = RTCSctpTransport(our_dtls)
        await asyncio.gather(their_gatherer.gather(), our_gatherer.gather())
        if not our_gatherer.getLocalCandidates():
            pytest.skip("no non-loopback IPv4 interface")
        for c in their_gatherer.getLocalCandidates():
            await our_ice.addRemoteCandidate(c)
        await our_ice.addRemoteCandidate(None)
        for c in our_gatherer.getLocalCandidates():
            await their_ice.addRemoteCandidate(c)
        await their_ice.addRemoteCandidate(None)
        await asyncio.wait_for(asyncio.gather(
            their_ice.start(our_gatherer.getLocalParameters()),
            our_ice.start(their_gatherer.getLocalParameters())), 10)
        assert our_ice.state in ("connected", "completed")
        await asyncio.wait_for(asyncio.gather(
            their_dtls.start(our_dtls.getLocalParameters()),
            our_dtls.start(their_dtls.getLocalParameters())), 10)
        assert our_dtls.state == their_dtls.state == "connected"
        assert our_dtls.role == ("server" if ours_controlling else "client")
        await asyncio.gather(
            their_sctp.start(our_sctp.getCapabilities(), our_sctp.port),
            our_sctp.start(their_sctp.getCapabilities(), their_sctp.port))
        theirs_announced: list[Any] = []
        ours_announced: list[Any] = []
        their_sctp.on("datachannel", theirs_announced.append)
        our_sctp.on("datachannel", ours_announced.append)
        their_channel = aiortc.RTCDataChannel(their_sctp, aiortc.RTCDataChannelParameters(
            label="from-aiortc"))
        our_channel = RTCDataChannel(our_sctp, RTCDataChannelParameters(label="from-ours"))
        await until(lambda: bool(theirs_announced and ours_announced)
                    and our_channel.readyState == "open"
                    and their_channel.readyState == "open", 10)
        assert ours_announced[0].label == "from-aiortc"
        assert theirs_announced[0].label == "from-ours"
        got_ours: list[Any] = []
        got_theirs: list[Any] = []
        ours_announced[0].on("message", got_ours.append)
        theirs_announced[0].on("message", got_theirs.append)
        big = os.urandom(65536)
        for msg in ("hi", b"", "", big):
            their_channel.send(msg)
            our_channel.send(msg)
        await until(lambda: len(got_ours) == 4 and len(got_theirs) == 4, 10)
        assert got_ours == ["hi", b"", "", big] and got_theirs == got_ours
        # Close from our side: SHUTDOWN, aiortc's association closes.
        await our_sctp.stop()
        await until(lambda: their_sctp.state == "closed", 5)
        assert our_channel.readyState == "closed"
        await their_sctp.stop()
        await their_dtls.stop()
        await our_dtls.stop()
        await their_ice.stop()
        await our_ice.stop()
        assert our_ice.state == "closed"
        await asyncio.sleep(0.05)
        gc.collect()
        assert open_fds() == fds

    run(main)
