"""createOffer -> channel open without needless waits (issue 6's connect
target).  Orders and states only, never timings: the speed itself is shown
by ``rtcengine bench --workload connect``.

* The controlled ICE agent reports ``connected`` (webrtc-pc §5.6) on a valid
  pair the controlling agent has checked too, before the nomination, and not
  on a pair the peer has not checked (it may not hold our credentials yet).
* The DTLS handshake starts in the same input as ICE's ``connected`` and
  SCTP in the same input as DTLS's ``connected`` (no task hops between).
* Peer connections share one default certificate, renewed before expiry.
"""

from __future__ import annotations

import asyncio
import datetime
import random
from typing import Any

from rtcengine import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from rtcengine.ice.agent import IceAgent, IceState
from rtcengine.ice.checklist import PairState
from rtcengine.rtccertificate import DEFAULT_RENEW_BEFORE, default_certificate
from tests.ice.vnet import Peer, VNet, exchange

A_ADDR = ("10.0.0.1", 1000)
B_ADDR = ("10.0.0.2", 2000)


def _agents(net: VNet) -> tuple[Peer, Peer]:
    a = net.add("a", IceAgent(True, rng=random.Random(1)), [A_ADDR])
    b = net.add("b", IceAgent(False, rng=random.Random(2)), [B_ADDR])
    a.agent.local_candidates_done()
    b.agent.local_candidates_done()
    net.pump()
    return a, b


def test_controlled_agent_connected_before_nomination() -> None:
    net = VNet()
    a, b = _agents(net)
    exchange(a, b)
    net.run(5, lambda: b.agent.state is IceState.CONNECTED)
    assert b.agent.state is IceState.CONNECTED
    # Not nominated yet: connected on the pair both sides have checked.
    assert b.agent.selected_pair is None
    usable = b.agent.send_pair()
    assert usable is not None and usable.valid and usable.requestsReceived > 0
    net.run(5, lambda: a.agent.state is IceState.COMPLETED and b.agent.state is IceState.COMPLETED)
    assert b.states == [IceState.CHECKING, IceState.CONNECTED, IceState.COMPLETED]
    assert b.agent.selected_pair is not None and b.agent.selected_pair.nominated
    # The controlling agent is unchanged: it selects right after its first valid pair.
    assert a.states == [IceState.CHECKING, IceState.COMPLETED]


def test_controlled_agent_waits_for_a_check_from_the_peer() -> None:
    """Our check succeeding shows the peer is there, not that it has our
    answer: until it checks us it may drop what we send."""
    net = VNet()
    a, b = _agents(net)
    # Only b knows the other side (a has not got the answer yet).
    b.agent.set_remote_credentials(a.agent.local_username, a.agent.local_password)
    for lc in a.agent.local_candidates:
        b.agent.add_remote_candidate(lc.candidate.copy())
    b.agent.add_remote_candidate(None)
    net.pump()
    net.run(0.3)
    pairs = list(b.agent.checklist)
    assert any(p.valid for p in pairs), [p.state for p in pairs]
    assert all(p.requestsReceived == 0 for p in pairs)
    assert b.agent.state is IceState.CHECKING
    assert all(p.state is not PairState.FAILED for p in pairs)


def test_default_certificate_is_shared_and_renewed() -> None:
    first = default_certificate()
    assert default_certificate() is first
    pc1, pc2 = RTCPeerConnection(), RTCPeerConnection()
    try:
        assert pc1.getConfiguration().certificates == [first]
        assert pc2.getConfiguration().certificates == [first]
    finally:
        asyncio.run(_close(pc1, pc2))
    near_expiry = first.expires - DEFAULT_RENEW_BEFORE + datetime.timedelta(minutes=1)
    renewed = default_certificate(near_expiry)
    assert renewed is not first
    assert renewed.expires > first.expires - datetime.timedelta(minutes=1)
    assert default_certificate() is renewed


async def _close(*pcs: RTCPeerConnection) -> None:
    for pc in pcs:
        await pc.close()


async def _connect_and_watch() -> dict[str, Any]:
    config = RTCConfiguration(iceServers=[])
    offerer, answerer = RTCPeerConnection(config), RTCPeerConnection(config)
    seen: dict[str, Any] = {}
    try:
        channel = offerer.createDataChannel("path")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await offerer.setLocalDescription(await offerer.createOffer())
        local = offerer.localDescription
        assert local is not None
        await answerer.setRemoteDescription(RTCSessionDescription(sdp=local.sdp, type="offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
        answer = answerer.localDescription
        assert answer is not None
        pcs = (("offerer", offerer), ("answerer", answerer))
        # Our listeners run after the transports' own ones (registered when
        # the transports were made), in the same state change.
        for name, pc in pcs:
            t: Any = pc._transports
            ice, dtls = t.ice_transport, t.dtls_transport

            def on_ice(name: str = name, ice: Any = ice, dtls: Any = dtls) -> None:
                if ice.state in ("connected", "completed"):
                    seen.setdefault(f"{name} dtls endpoint at ice connected",
                                    dtls._endpoint is not None)

            ice.on("statechange", on_ice)
        await offerer.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        # Both connect tasks have registered their DTLS listeners once they
        # ran; the handshake needs several round trips more.
        await asyncio.sleep(0)
        for name, pc in pcs:
            t = pc._transports
            dtls = t.dtls_transport
            assert dtls.state == "connecting"

            def on_dtls(name: str = name, t: Any = t, dtls: Any = dtls) -> None:
                if dtls.state == "connected":
                    seen[f"{name} sctp at dtls connected"] = t.sctp.state

            dtls.on("statechange", on_dtls)
        await asyncio.wait_for(opened.wait(), 10)
    finally:
        await _close(offerer, answerer)
    return seen


def test_dtls_and_sctp_start_in_the_input_that_enables_them() -> None:
    seen = asyncio.run(_connect_and_watch())
    # The answerer (a=setup:active) is the DTLS client: its first flight is
    # on its way when ICE turns connected; the offerer's endpoint is ready.
    assert seen["answerer dtls endpoint at ice connected"] is True
    assert seen["offerer dtls endpoint at ice connected"] is True
    # RFC 8841 §9.3: SCTP starts when DTLS connects, not loop iterations later.
    assert seen["answerer sctp at dtls connected"] == "connecting"
    assert seen["offerer sctp at dtls connected"] == "connecting"
