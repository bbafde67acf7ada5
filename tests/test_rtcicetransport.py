"""RTCIceGatherer / RTCIceTransport (webrtc-pc §5.6, ORTC) on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine.exceptions import InvalidStateError
from rtcengine.ice.config import IceConfig
from rtcengine.rtcicetransport import (
    RTCIceCandidate,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
)
from tests.ortc_stack import connect_ice, loopback_config, make_stack, run, until


def test_gatherer_states_and_trickle() -> None:
    async def main() -> None:
        g = RTCIceGatherer(config=loopback_config())
        states: list[str] = []
        trickled: list[Any] = []
        g.on("statechange", lambda: states.append(g.state))
        g.on("icecandidate", trickled.append)
        assert g.state == "new"
        params = g.getLocalParameters()
        assert isinstance(params, RTCIceParameters)
        assert params.usernameFragment and params.password and not params.iceLite
        await g.gather()
        assert states == ["gathering", "complete"] and g.state == "complete"
        assert trickled[-1] is None  # RFC 8838 §4: end-of-candidates
        local = g.getLocalCandidates()
        assert trickled[:-1] == local and len(local) == 1
        c = local[0]
        assert isinstance(c, RTCIceCandidate)
        assert (c.ip, c.type, c.protocol, c.component) == ("127.0.0.1", "host", "udp", 1)
        await g.gather()  # idempotent
        assert states == ["gathering", "complete"]
        await g.close()
        assert g.state == "closed"
        with pytest.raises(InvalidStateError):
            await g.gather()

    run(main)


def test_given_credentials_and_servers_pass_through() -> None:
    cfg = loopback_config()
    g = RTCIceGatherer(
        iceServers=[type("S", (), {"urls": ["stun:127.0.0.1:9"], "username": None,
                                   "credential": None})()],
        local_username="abcd", local_password="p" * 22, config=cfg)
    assert g.getLocalParameters() == RTCIceParameters("abcd", "p" * 22, False)
    assert [s.urls for s in cfg.iceServers] == [["stun:127.0.0.1:9"]]
    with pytest.raises(TypeError):
        RTCIceGatherer(iceTransportPolicy="none")


def test_relay_policy_gathers_no_host_candidates() -> None:
    async def main() -> None:
        g = RTCIceGatherer(iceTransportPolicy="relay", config=loopback_config())
        assert g._driver.config.iceTransportPolicy == "relay"
        trickled: list[Any] = []
        g.on("icecandidate", trickled.append)
        await g.gather()
        assert g.getLocalCandidates() == [] and trickled == [None]
        await g.close()

    run(main)


def test_mdns_hiding_passes_through() -> None:
    async def main() -> None:
        cfg = loopback_config()
        cfg.mdns_hide_host = True
        g = RTCIceGatherer(config=cfg)
        try:
            await g.gather()
            (c,) = g.getLocalCandidates()
            assert c.ip.endswith(".local") and c.type == "host"
        finally:
            await g.close()

    run(main)


def test_transport_connects_with_w3c_states() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        assert a.ice.role == "controlling" and b.ice.role == "controlled"
        assert a.ice.component == "rtp" and a.ice.iceGatherer is a.gatherer
        seen: list[str] = []
        a.ice.on("statechange", lambda: seen.append(a.ice.state))
        changes: list[int] = []
        a.ice.on("selectedcandidatepairchange", lambda: changes.append(1))
        assert a.ice.state == "new" and a.ice.getSelectedCandidatePair() is None
        await connect_ice(a, b)
        await until(lambda: a.ice.state == "completed" and b.ice.state == "completed")
        assert seen[0] == "checking" and seen[-1] == "completed"
        pair = a.ice.getSelectedCandidatePair()
        assert pair is not None and changes
        assert pair.local == a.gatherer.getLocalCandidates()[0]
        assert pair.remote.port == b.gatherer.getLocalCandidates()[0].port
        assert [c.port for c in a.ice.getRemoteCandidates()] == [pair.remote.port]
        assert a.ice.getRemoteParameters() == b.gatherer.getLocalParameters()
        stats = a.ice._get_stats()
        assert stats["state"] == "completed" and stats["selectedPair"] is not None
        # A second start with the same parameters returns at once.
        await asyncio.wait_for(a.ice.start(b.gatherer.getLocalParameters()), 1)
        await a.stop()
        await b.stop()
        assert a.ice.state == "closed" and seen[-1] == "closed"
        with pytest.raises(InvalidStateError):
            await a.ice.start(b.gatherer.getLocalParameters())
        with pytest.raises(InvalidStateError):
            a.ice.role = "controlled"
        await a.ice.addRemoteCandidate(None)  # ignored once closed
        await a.ice.stop()  # idempotent

    run(main)


def test_aiortc_style_role_and_candidates() -> None:
    """aiortc's peer connection writes ``_connection.ice_controlling`` and
    passes aiortc-shaped candidates."""
    async def main() -> None:
        a, b = make_stack("controlled"), make_stack("controlled")
        a.ice._connection.ice_controlling = True
        assert a.ice.role == "controlling" and a.ice._connection.ice_controlling
        with pytest.raises(TypeError):
            a.ice.role = "leader"
        await asyncio.gather(a.gatherer.gather(), b.gatherer.gather())

        class Plain:  # aiortc.RTCIceCandidate's fields, not our class
            def __init__(self, c: RTCIceCandidate) -> None:
                for name in ("component", "foundation", "ip", "port", "priority",
                             "protocol", "type", "relatedAddress", "relatedPort",
                             "sdpMid", "sdpMLineIndex", "tcpType"):
                    setattr(self, name, getattr(c, name))

        for src, dst in ((a, b), (b, a)):
            for c in src.gatherer.getLocalCandidates():
                await dst.ice.addRemoteCandidate(Plain(c))
        await asyncio.wait_for(asyncio.gather(
            a.ice.start(b.gatherer.getLocalParameters()),
            b.ice.start(a.gatherer.getLocalParameters())), 5)
        assert a.ice.state in ("connected", "completed")
        await a.stop()
        await b.stop()

    run(main)


def test_start_before_gathering_and_trickle_after() -> None:
    """Trickle ICE (RFC 8838): start first, candidates later."""
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        a.gatherer.on("icecandidate", lambda c: asyncio.ensure_future(b.ice.addRemoteCandidate(c)))
        b.gatherer.on("icecandidate", lambda c: asyncio.ensure_future(a.ice.addRemoteCandidate(c)))
        starts = asyncio.gather(a.ice.start(b.gatherer.getLocalParameters()),
                                b.ice.start(a.gatherer.getLocalParameters()))
        await asyncio.sleep(0.01)
        await asyncio.gather(a.gatherer.gather(), b.gatherer.gather())
        await asyncio.wait_for(starts, 5)
        assert a.ice.state in ("connected", "completed")
        await a.stop()
        await b.stop()

    run(main)


def test_ice_restart_keeps_data_flowing_and_reconnects() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        await connect_ice(a, b)
        old = a.gatherer.getLocalParameters()
        trickled: list[Any] = []
        a.gatherer.on("icecandidate", trickled.append)
        a.ice.restart()  # RFC 8445 §9: new local credentials
        new = a.gatherer.getLocalParameters()
        assert new.usernameFragment != old.usernameFragment and new.password != old.password
        assert trickled and trickled[-1] is None  # candidates signalled again
        assert a.ice.getSelectedCandidatePair() is not None  # old pair still carries data
        b.ice.restart()
        await asyncio.wait_for(asyncio.gather(
            a.ice.start(b.gatherer.getLocalParameters()),
            b.ice.start(new)), 5)
        for src, dst in ((a, b), (b, a)):
            for c in src.gatherer.getLocalCandidates():
                await dst.ice.addRemoteCandidate(c)
            await dst.ice.addRemoteCandidate(None)
        await until(lambda: a.ice._driver.agent.generation == 1
                    and a.ice._driver.agent.checklist.state.value == "completed")
        assert a.ice.state in ("connected", "completed")
        await a.stop()
        await b.stop()

    run(main)


def test_peer_vanishes_disconnected_then_failed() -> None:
    """RFC 7675 consent freshness: no answers -> disconnected, then failed."""
    async def main() -> None:
        a = make_stack("controlling", consent_interval=0.1, disconnected_timeout=0.4,
                       consent_timeout=1.0)
        b = make_stack("controlled")
        await connect_ice(a, b)
        seen: list[str] = []
        a.ice.on("statechange", lambda: seen.append(a.ice.state))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await b.ice.stop()  # the peer's sockets are gone
        await until(lambda: a.ice.state == "failed", 5)
        assert seen == ["disconnected", "failed"]
        assert 0.9 <= loop.time() - t0 < 3.0
        await a.stop()

    run(main)


def test_start_needs_credentials() -> None:
    async def main() -> None:
        t = RTCIceTransport(RTCIceGatherer(config=IceConfig(include_loopback=True)))
        with pytest.raises(TypeError):
            await t.start(RTCIceParameters())
        await t.stop()

    run(main)
