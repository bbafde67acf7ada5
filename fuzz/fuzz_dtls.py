"""atheris target: arbitrary datagrams into DTLS endpoints.

Three victims: a server mid-handshake (it has answered a ClientHello), a
client mid-handshake (it has the server's first flight pending), and a
connected endpoint.  The first input byte picks the victim and whether the
rest is sent raw or behind a well-formed DTLS record header (so it gets past
the header check into OpenSSL).  Only counted drops and a failed/closed state
are allowed outcomes: any exception or crash is a finding.  A victim that
failed or closed is rebuilt.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core.dtls import DtlsEndpoint  # noqa: E402
from rtcengine.rtccertificate import RTCCertificate  # noqa: E402

A = RTCCertificate.generateCertificate()
B = RTCCertificate.generateCertificate()


def _pair() -> tuple[DtlsEndpoint, DtlsEndpoint]:
    c = A.create_dtls_endpoint("client", B.getFingerprints())
    s = B.create_dtls_endpoint("server", A.getFingerprints())
    return c, s


def _server_mid_handshake() -> DtlsEndpoint:
    c, s = _pair()
    c.start(0.0)
    s.start(0.0)
    for d in c.poll_datagrams():
        s.handle_datagram(d, 0.0)
    s.poll_datagrams()
    return s


def _client_mid_handshake() -> DtlsEndpoint:
    c, s = _pair()
    c.start(0.0)
    s.start(0.0)
    for d in c.poll_datagrams():
        s.handle_datagram(d, 0.0)
    for d in s.poll_datagrams():
        c.handle_datagram(d, 0.0)
    c.poll_datagrams()
    return c


def _connected() -> DtlsEndpoint:
    c, s = _pair()
    c.start(0.0)
    s.start(0.0)
    for _ in range(10):
        for d in c.poll_datagrams():
            s.handle_datagram(d, 0.0)
        for d in s.poll_datagrams():
            c.handle_datagram(d, 0.0)
    assert c.state == "connected", c.failure_reason
    return c


MAKERS = [_server_mid_handshake, _client_mid_handshake, _connected]
VICTIMS = [make() for make in MAKERS]
NOW = [1.0]


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    which = data[0] % 3
    body = data[1:]
    if data[0] & 0x80 and len(body) >= 3:
        # RFC 6347 §4.1 header: type 20..23, version FEFD, epoch+seq from the
        # input, length = what follows.
        ctype = 20 + body[0] % 4
        epoch_seq = (body[1:3] + bytes(8))[:8]
        payload = body[3:]
        body = bytes([ctype, 0xFE, 0xFD]) + epoch_seq + len(payload).to_bytes(2, "big") + payload
    ep = VICTIMS[which]
    dropped = ep.datagrams_dropped
    ep.handle_datagram(body, NOW[0])
    assert ep.datagrams_dropped >= dropped
    assert ep.state in ("connecting", "connected", "failed", "closed")
    ep.poll_datagrams()
    NOW[0] += 0.05
    ep.handle_timeout(NOW[0])
    ep.poll_datagrams()
    ep.recv_all()
    if ep.state == "connected":
        ep.send(b"ping")
        ep.poll_datagrams()
    if ep.state in ("failed", "closed"):
        VICTIMS[which] = MAKERS[which]()


def seeds() -> list[bytes]:
    c, s = _pair()
    c.start(0.0)
    s.start(0.0)
    out: list[bytes] = []
    for _ in range(4):
        for d in c.poll_datagrams():
            out.append(bytes([0]) + d)
            s.handle_datagram(d, 0.0)
        for d in s.poll_datagrams():
            out.append(bytes([1]) + d)
            c.handle_datagram(d, 0.0)
    c.send(b"application data")
    out += [bytes([2]) + d for d in c.poll_datagrams()]
    out.append(bytes([0x82, 1, 0, 0]) + b"\x00" * 40)
    return out


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
