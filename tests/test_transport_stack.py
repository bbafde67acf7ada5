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
        b.channels[0].on("message", lambda m: (digest_in.update(m),
                                               received.__setitem__(0, received[0] + len(m))))
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
