"""RTCDtlsTransport (webrtc-pc §5.5, ORTC) over rtcengine ICE on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcengine.exceptions import InvalidAccessError, InvalidStateError
from rtcengine.rtccertificate import RTCCertificate, RTCDtlsFingerprint
from rtcengine.rtcdtlstransport import RTCDtlsParameters, RTCDtlsTransport, RTCError
from rtcengine.rtcicetransport import RTCIceGatherer, RTCIceTransport
from tests.ortc_stack import connect_ice, loopback_config, make_stack, run, until


def test_local_parameters_and_constructor_checks() -> None:
    cert = RTCCertificate.generateCertificate()
    ice = RTCIceTransport(RTCIceGatherer(config=loopback_config()))
    dtls = RTCDtlsTransport(ice, [cert])
    params = dtls.getLocalParameters()
    assert params.role == "auto"
    assert params.fingerprints == cert.getFingerprints()
    assert dtls.state == "new" and dtls.transport is ice and dtls.iceTransport is ice
    assert dtls.role == "auto" and dtls.getRemoteCertificates() == []
    with pytest.raises(InvalidAccessError):
        RTCDtlsTransport(ice, [])
    with pytest.raises(TypeError):
        dtls._set_role("leader")


@pytest.mark.parametrize(
    ("a_role", "b_role", "expected"),
    [
        ("auto", "auto", ("server", "client")),  # ORTC/aiortc: controlling = server
        ("client", "server", ("client", "server")),  # a=setup:active / passive
        ("server", "client", ("server", "client")),
    ],
)
def test_handshake_roles(a_role: str, b_role: str, expected: tuple[str, str]) -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        a.dtls._set_role(a_role)
        b.dtls._set_role(b_role)
        states: list[str] = []
        a.dtls.on("statechange", lambda: states.append(a.dtls.state))
        await connect_ice(a, b)
        await asyncio.wait_for(asyncio.gather(
            a.dtls.start(b.dtls.getLocalParameters()),
            b.dtls.start(a.dtls.getLocalParameters())), 5)
        assert (a.dtls.role, b.dtls.role) == expected
        assert states == ["connecting", "connected"]
        assert a.dtls.getRemoteCertificates() == [b.dtls._certificate.certificate_der]
        # SRTP sessions keyed at the handshake (RFC 5764), kept for media.
        assert a.dtls._tx_srtp is not None and a.dtls._rx_srtp is not None
        stats = a.dtls._get_stats()
        assert stats["type"] == "transport" and stats["dtlsState"] == "connected"
        assert stats["dtlsRole"] == expected[0] and stats["iceRole"] == "controlling"
        assert stats["dtlsCipher"].startswith("TLS_ECDHE_")
        assert stats["selectedCandidatePairId"] is not None
        assert stats["packetsSent"] > 0 and stats["bytesReceived"] > 0
        with pytest.raises(InvalidStateError):
            await a.dtls.start(b.dtls.getLocalParameters())
        with pytest.raises(InvalidStateError):
            a.dtls._set_role("client")
        # stop(): close_notify (RFC 5246 §7.2.1) closes the peer too.
        peer_states: list[str] = []
        b.dtls.on("statechange", lambda: peer_states.append(b.dtls.state))
        await a.dtls.stop()
        assert a.dtls.state == "closed"
        await until(lambda: b.dtls.state == "closed")
        assert peer_states == ["closed"]
        await a.stop()
        await b.stop()

    run(main)


def test_remote_role_decides_when_auto() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        await connect_ice(a, b)
        pa = a.dtls.getLocalParameters()
        pb = b.dtls.getLocalParameters()
        # b announces itself as server: a (controlling) must be the client.
        pb.role = "server"
        pa.role = "client"
        await asyncio.wait_for(asyncio.gather(a.dtls.start(pb), b.dtls.start(pa)), 5)
        assert (a.dtls.role, b.dtls.role) == ("client", "server")
        assert a.dtls.state == b.dtls.state == "connected"
        await a.stop()
        await b.stop()

    run(main)


def test_fingerprint_mismatch_fails_both_sides() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        errors: list[Any] = []
        a.dtls.on("error", errors.append)
        await connect_ice(a, b)
        wrong = RTCCertificate.generateCertificate().getFingerprints()
        await asyncio.wait_for(asyncio.gather(
            a.dtls.start(RTCDtlsParameters(fingerprints=wrong)),
            b.dtls.start(a.dtls.getLocalParameters())), 5)
        # RFC 8122 §5 / RFC 5763 §5: a certificate that does not match fails.
        assert a.dtls.state == "failed"
        assert a.dtls.failureReason == "fingerprint-failure"
        assert len(errors) == 1 and isinstance(errors[0], RTCError)
        assert errors[0].errorDetail == "fingerprint-failure"
        # The peer got an alert and failed too.
        assert b.dtls.state == "failed" and b.dtls.failureReason is not None
        assert a.dtls.getRemoteCertificates() == []
        assert a.dtls._get_stats()["dtlsFailureReason"] == "fingerprint-failure"
        await a.stop()
        await b.stop()

    run(main)


def test_bad_remote_parameters() -> None:
    async def main() -> None:
        a = make_stack("controlling")
        with pytest.raises(InvalidAccessError):
            await a.dtls.start(RTCDtlsParameters(fingerprints=[]))
        with pytest.raises(InvalidAccessError):
            await a.dtls.start(RTCDtlsParameters(
                fingerprints=[RTCDtlsFingerprint("md5", "00:11")]))
        await a.stop()

    run(main)


def test_ice_failure_before_handshake_fails_dtls() -> None:
    async def main() -> None:
        a, b = make_stack("controlling"), make_stack("controlled")
        task = asyncio.ensure_future(a.dtls.start(b.dtls.getLocalParameters()))
        await asyncio.sleep(0.01)
        assert a.dtls.state == "connecting"
        await a.ice.stop()  # ICE closed under a pending handshake
        await asyncio.wait_for(task, 2)
        assert a.dtls.state in ("closed", "failed")
        await a.stop()
        await b.stop()

    run(main)


def test_stop_before_start_and_twice() -> None:
    async def main() -> None:
        a = make_stack("controlling")
        await a.dtls.stop()
        assert a.dtls.state == "closed"
        await a.dtls.stop()
        with pytest.raises(InvalidStateError):
            await a.dtls.start(a.dtls.getLocalParameters())
        await a.stop()

    run(main)
