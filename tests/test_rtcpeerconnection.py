"""RTCPeerConnection unit tests without network (fake transports): the
operations chain (§4.4.1.2), negotiation-needed (§4.7), errors,
configuration, addIceCandidate, close, events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine import (
    InvalidAccessError,
    InvalidModificationError,
    InvalidStateError,
    InvalidSyntaxError,
    OperationError,
    RTCBundlePolicy,
    RTCCertificate,
    RTCConfiguration,
    RTCIceServer,
    RTCSessionDescription,
)
from rtcengine.jsep import SdpSyntaxError
from rtcengine.rtcpeerconnection import (
    _connection_state,
    _ice_connection_state,
    _ice_gathering_state,
)
from tests.pc_fakes import FakePeerConnection, FakeTransports


async def offer_answer(a: FakePeerConnection, b: FakePeerConnection) -> None:
    await a.setLocalDescription(await a.createOffer())
    assert a.localDescription is not None
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    assert b.localDescription is not None
    await a.setRemoteDescription(b.localDescription)


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 20))


# ------------------------------------------------------------ operations chain


def test_operations_run_in_call_order() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        # Fire-and-forget, like JS without await: the chain keeps the order.
        offer_task = asyncio.ensure_future(a.createOffer())
        sld = asyncio.ensure_future(a.setLocalDescription())
        offer2 = asyncio.ensure_future(a.createOffer())
        await asyncio.gather(offer_task, sld, offer2)
        assert a.signalingState == "have-local-offer"
        await b.setRemoteDescription(a.localDescription)  # type: ignore[arg-type]
        answer = asyncio.ensure_future(b.createAnswer())
        sld_b = asyncio.ensure_future(b.setLocalDescription())
        await asyncio.gather(answer, sld_b)
        assert b.signalingState == "stable"
        await a.close()
        await b.close()

    run(main())


def test_failed_operation_does_not_block_the_chain() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        bad = asyncio.ensure_future(pc.createAnswer())  # stable: InvalidStateError
        good = asyncio.ensure_future(pc.createOffer())
        with pytest.raises(InvalidStateError, match="answer"):
            await bad
        assert (await good).type == "offer"
        await pc.close()

    run(main())


def test_close_rejects_queued_operations() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        pc.createDataChannel("x")
        first = asyncio.ensure_future(pc.setLocalDescription())
        queued = asyncio.ensure_future(pc.createOffer())
        await asyncio.sleep(0)
        await pc.close()
        for task in (first, queued):
            with pytest.raises(InvalidStateError):
                await task
        with pytest.raises(InvalidStateError):
            await pc.createOffer()

    run(main())


# ------------------------------------------------------------ negotiation-needed


def test_negotiationneeded_fires_once_for_data_channels() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        fired: list[str] = []
        a.on("negotiationneeded", lambda: fired.append(a.signalingState))
        a.createDataChannel("one")
        a.createDataChannel("two")
        assert fired == []  # queued as a task, not synchronous
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert fired == ["stable"]
        await offer_answer(a, b)
        await asyncio.sleep(0.01)
        assert fired == ["stable"]  # negotiated: not needed any more
        a.createDataChannel("three")  # SCTP already negotiated: no renegotiation
        await asyncio.sleep(0.01)
        assert fired == ["stable"]
        await a.close()
        await b.close()

    run(main())


def test_negotiationneeded_waits_for_stable_and_empty_chain() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        b.createDataChannel("b")
        await b.setLocalDescription()
        await a.setRemoteDescription(b.localDescription)  # type: ignore[arg-type]
        fired: list[str] = []
        a.on("negotiationneeded", lambda: fired.append(a.signalingState))
        a.restartIce()  # in have-remote-offer: wait
        await asyncio.sleep(0.01)
        assert fired == []
        await a.setLocalDescription()  # answer -> stable -> fires
        await asyncio.sleep(0.01)
        assert fired == ["stable"]
        await a.close()
        await b.close()

    run(main())


def test_restart_ice_new_credentials() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        await offer_answer(a, b)
        first = (await a.createOffer()).sdp
        a.restartIce()
        restarted = (await a.createOffer()).sdp

        def ufrag(sdp: str) -> str:
            return next(line for line in sdp.splitlines() if line.startswith("a=ice-ufrag:"))

        assert ufrag(first) != ufrag(restarted)
        await a.setLocalDescription()
        await b.setRemoteDescription(a.localDescription)  # type: ignore[arg-type]
        await b.setLocalDescription()
        await a.setRemoteDescription(b.localDescription)  # type: ignore[arg-type]
        assert a._ice_credentials_to_replace == set()
        await a.close()
        await b.close()

    run(main())


# ------------------------------------------------------------ descriptions and errors


def test_munged_local_description_is_rejected() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        pc.createDataChannel("x")
        offer = await pc.createOffer()
        munged = RTCSessionDescription(sdp=offer.sdp.replace("5000", "5001"), type="offer")
        with pytest.raises(InvalidModificationError):
            await pc.setLocalDescription(munged)
        await pc.setLocalDescription(offer)
        assert pc.signalingState == "have-local-offer"
        await pc.close()

    run(main())


def test_malformed_remote_sdp_names_the_line() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        bad = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application nine UDP/DTLS/SCTP x\r\n"
        with pytest.raises(OperationError) as info:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=bad, type="offer"))
        assert isinstance(info.value, SdpSyntaxError)
        assert info.value.sdpLineNumber == 5
        assert "m=application nine" in str(info.value)
        assert pc.signalingState == "stable"
        await pc.close()

    run(main())


def test_inconsistent_remote_sdp_is_invalid_access() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        await a.setLocalDescription()
        sdp = a.localDescription.sdp  # type: ignore[union-attr]
        no_fp = "\r\n".join(
            line for line in sdp.split("\r\n") if not line.startswith("a=fingerprint")
        )
        with pytest.raises(InvalidAccessError, match="fingerprint"):
            await b.setRemoteDescription(RTCSessionDescription(sdp=no_fp, type="offer"))
        assert b.signalingState == "stable"
        await a.close()
        await b.close()

    run(main())


def test_implicit_set_local_description_and_dict_forms() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        await a.setLocalDescription()
        assert a.localDescription is not None and a.localDescription.type == "offer"
        await b.setRemoteDescription({"type": "offer", "sdp": a.localDescription.sdp})
        await b.setLocalDescription()
        assert b.localDescription is not None and b.localDescription.type == "answer"
        await a.setRemoteDescription(b.localDescription.toJSON())  # type: ignore[arg-type]
        assert a.signalingState == "stable"
        await a.close()
        await b.close()

    run(main())


def test_local_description_has_candidates_and_icecandidate_events() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        events: list[Any] = []
        gathering: list[str] = []
        pc.on("icecandidate", events.append)
        pc.on("icegatheringstatechange", lambda: gathering.append(pc.iceGatheringState))
        pc.createDataChannel("x")
        await pc.setLocalDescription()
        sdp = pc.localDescription.sdp  # type: ignore[union-attr]
        assert "a=candidate:" in sdp and "a=end-of-candidates" in sdp
        assert events == []  # fired after setLocalDescription resolves
        await asyncio.sleep(0)
        assert [e.candidate is None for e in events] == [False, True]
        assert events[0].candidate.sdpMid == "0" and events[0].candidate.sdpMLineIndex == 0
        assert gathering == ["gathering", "complete"]
        await pc.close()

    run(main())


def test_add_ice_candidate() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        line = "candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host"
        with pytest.raises(InvalidStateError):
            await a.addIceCandidate({"candidate": line, "sdpMid": "0"})
        with pytest.raises(TypeError):
            await a.addIceCandidate({"candidate": line})
        b.createDataChannel("x")
        await b.setLocalDescription()
        await a.setRemoteDescription(b.localDescription)  # type: ignore[arg-type]
        t = a._transports
        assert isinstance(t, FakeTransports)
        t.remote_candidates.clear()
        await a.addIceCandidate({"candidate": line, "sdpMid": "0"})
        await a.addIceCandidate({"candidate": line.replace("4000", "4001"), "sdpMLineIndex": 0})
        with pytest.raises(OperationError, match="mid"):
            await a.addIceCandidate({"candidate": line, "sdpMid": "nope"})
        with pytest.raises(OperationError, match="usernameFragment"):
            await a.addIceCandidate(
                {"candidate": line, "sdpMid": "0", "usernameFragment": "other"})
        with pytest.raises(OperationError, match="parse"):
            await a.addIceCandidate({"candidate": "candidate:garbage", "sdpMid": "0"})
        await a.addIceCandidate(None)
        await a.addIceCandidate({"candidate": "", "sdpMid": "0"})
        ports = [c.port if c is not None else None for c in t.remote_candidates]
        assert ports == [4000, 4001, None, None]
        remote = a.remoteDescription
        assert remote is not None and "192.0.2.1 4001" in remote.sdp
        await a.close()
        await b.close()

    run(main())


def test_can_trickle() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        assert a.canTrickleIceCandidates is None
        b.createDataChannel("x")
        await b.setLocalDescription()
        await a.setRemoteDescription(b.localDescription)  # type: ignore[arg-type]
        assert a.canTrickleIceCandidates is True
        await a.close()
        await b.close()

    run(main())


# ------------------------------------------------------------ data channels


@pytest.mark.parametrize("options", [
    {"maxPacketLifeTime": 10, "maxRetransmits": 1},
    {"negotiated": True},
    {"negotiated": True, "id": 65535},
    {"maxRetransmits": 70000},
])
def test_create_data_channel_type_errors(options: dict[str, Any]) -> None:
    pc = FakePeerConnection()
    with pytest.raises(TypeError):
        pc.createDataChannel("x", **options)
    with pytest.raises(ValueError):  # what aiortc raised
        pc.createDataChannel("x", **options)


def test_create_data_channel_long_label() -> None:
    with pytest.raises(TypeError):
        FakePeerConnection().createDataChannel("x" * 65536)


def test_create_data_channel_after_close() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        await pc.close()
        with pytest.raises(InvalidStateError):
            pc.createDataChannel("x")

    run(main())


def test_sctp_is_none_until_negotiated() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        assert a.sctp is None
        await offer_answer(a, b)
        assert a.sctp is not None and b.sctp is not None
        await a.close()
        await b.close()

    run(main())


# ------------------------------------------------------------ configuration


def test_configuration_validation() -> None:
    with pytest.raises(InvalidSyntaxError):
        FakePeerConnection(RTCConfiguration(iceServers=[RTCIceServer("http://example.org")]))
    with pytest.raises(InvalidAccessError):
        FakePeerConnection(RTCConfiguration(iceServers=[RTCIceServer("turn:example.org")]))
    with pytest.raises(TypeError):
        FakePeerConnection(RTCConfiguration(bundlePolicy="everything"))
    with pytest.raises(TypeError):
        FakePeerConnection(RTCConfiguration(iceCandidatePoolSize=256))
    pc = FakePeerConnection(RTCConfiguration(iceServers=[
        RTCIceServer(["stun:stun.example.org", "stun:[2001:db8::1]:3479"]),
        RTCIceServer("turns:turn.example.org?transport=tcp", "user", "pass"),
    ], bundlePolicy="max-bundle"))
    config = pc.getConfiguration()
    assert config.bundlePolicy is RTCBundlePolicy.MAX_BUNDLE
    assert config.iceServers is not None and len(config.iceServers) == 2
    assert config.certificates is not None and len(config.certificates) == 1


def test_set_configuration_rules() -> None:
    cert = RTCCertificate.generateCertificate()
    pc = FakePeerConnection(RTCConfiguration(certificates=[cert]))
    with pytest.raises(InvalidModificationError):
        pc.setConfiguration(RTCConfiguration(certificates=[RTCCertificate.generateCertificate()]))
    with pytest.raises(InvalidModificationError):
        pc.setConfiguration(RTCConfiguration(bundlePolicy="max-bundle"))
    pc.setConfiguration(RTCConfiguration(iceServers=[RTCIceServer("stun:stun.example.org")]))
    config = pc.getConfiguration()
    assert config.iceServers == [RTCIceServer("stun:stun.example.org")]
    assert config.certificates == [cert]

    async def after_local() -> None:
        pc.createDataChannel("x")
        await pc.setLocalDescription()
        with pytest.raises(InvalidModificationError):
            pc.setConfiguration(RTCConfiguration(iceCandidatePoolSize=3))
        await pc.close()
        with pytest.raises(InvalidStateError):
            pc.setConfiguration(RTCConfiguration())

    run(after_local())


# ------------------------------------------------------------ states and close


def test_state_functions() -> None:
    # webrtc-pc §4.3.3 RTCPeerConnectionState
    assert _connection_state(True, ["connected"], ["connected"]) == "closed"
    assert _connection_state(False, [], []) == "new"
    assert _connection_state(False, ["new"], ["new"]) == "new"
    assert _connection_state(False, ["checking"], ["new"]) == "connecting"
    assert _connection_state(False, ["connected"], ["connecting"]) == "connecting"
    assert _connection_state(False, ["completed"], ["connected"]) == "connected"
    assert _connection_state(False, ["disconnected"], ["connected"]) == "disconnected"
    assert _connection_state(False, ["connected"], ["failed"]) == "failed"
    assert _connection_state(False, ["failed"], ["connected"]) == "failed"
    # §4.3.2 RTCIceConnectionState / RTCIceGatheringState
    assert _ice_connection_state(False, ["checking"]) == "checking"
    assert _ice_connection_state(False, ["connected"]) == "connected"
    assert _ice_connection_state(False, ["completed"]) == "completed"
    assert _ice_connection_state(False, ["disconnected"]) == "disconnected"
    assert _ice_gathering_state([]) == "new"
    assert _ice_gathering_state(["gathering"]) == "gathering"
    assert _ice_gathering_state(["complete"]) == "complete"


def test_state_events_follow_transports() -> None:
    async def main() -> None:
        pc = FakePeerConnection()
        seen: list[tuple[str, str]] = []
        pc.on("connectionstatechange", lambda: seen.append(("pc", pc.connectionState)))
        pc.on("iceconnectionstatechange", lambda: seen.append(("ice", pc.iceConnectionState)))
        pc.createDataChannel("x")
        t = pc._transports
        assert isinstance(t, FakeTransports)
        t.set_states("checking", "new")
        t.set_states("connected", "connecting")
        t.set_states("connected", "connected")
        t.set_states("disconnected", "connected")
        t.set_states("failed", "connected")
        assert seen == [("ice", "checking"), ("pc", "connecting"), ("ice", "connected"),
                        ("pc", "connected"), ("ice", "disconnected"), ("pc", "disconnected"),
                        ("ice", "failed"), ("pc", "failed")]
        await pc.close()

    run(main())


def test_close_is_idempotent_and_works_in_every_state() -> None:
    async def main() -> None:
        a, b = FakePeerConnection(), FakePeerConnection()
        a.createDataChannel("x")
        await a.setLocalDescription()
        events: list[str] = []
        a.on("signalingstatechange", lambda: events.append(a.signalingState))
        a.on("connectionstatechange", lambda: events.append(a.connectionState))
        await asyncio.gather(a.close(), a.close())
        await a.close()
        assert a.signalingState == "closed" and a.connectionState == "closed"
        assert a.iceConnectionState == "closed"
        # Like aiortc: signalingstatechange and connectionstatechange to "closed", once.
        assert events == ["closed", "closed"]
        t = a._transports
        assert isinstance(t, FakeTransports) and t.closed
        assert a._timers == set()
        await b.close()  # never used: no transports at all
        assert b.connectionState == "closed"

    run(main())


def test_track_event_can_be_registered() -> None:
    pc = FakePeerConnection()

    @pc.on("track")
    def on_track(track: Any) -> None:  # pragma: no cover - no media yet
        raise AssertionError

    assert pc.getTransceivers() == [] and pc.getSenders() == [] and pc.getReceivers() == []
