"""DTLS: record encrypt+decrypt and an in-memory handshake, against pyOpenSSL
driven the way aiortc drives it (memory BIOs, ``send`` + ``bio_read``,
``bio_write`` + ``recv``)."""

from __future__ import annotations

import os
from typing import Any

from rtcengine._bench import Case
from rtcengine._core.dtls import DtlsEndpoint
from rtcengine.rtccertificate import RTCCertificate

# An SCTP packet that fills a 1200-byte datagram after the DTLS record overhead.
PAYLOAD = 1188


def _ours_pair(a: RTCCertificate, b: RTCCertificate) -> tuple[DtlsEndpoint, DtlsEndpoint]:
    c = a.create_dtls_endpoint("client", b.getFingerprints())
    s = b.create_dtls_endpoint("server", a.getFingerprints())
    c.start(0.0)
    s.start(0.0)
    while c.state != "connected" or s.state != "connected":
        moved = False
        for d in c.poll_datagrams():
            s.handle_datagram(d, 0.0)
            moved = True
        for d in s.poll_datagrams():
            c.handle_datagram(d, 0.0)
            moved = True
        if not moved:
            raise RuntimeError(f"DTLS handshake stalled: {c.failure_reason or s.failure_reason}")
    return c, s


def _pyopenssl_pair(a: RTCCertificate, b: RTCCertificate) -> tuple[Any, Any]:
    from OpenSSL import SSL

    def conn(cert: RTCCertificate, client: bool) -> Any:
        # aiortc's RTCCertificate._create_ssl_context
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: True)
        ctx.use_certificate(cert._cert)
        ctx.use_privatekey(cert._key)
        ctx.set_cipher_list(
            b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
            b"ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
        )
        ctx.set_tlsext_use_srtp(
            b"SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
        )
        c = SSL.Connection(ctx)
        if client:
            c.set_connect_state()
        else:
            c.set_accept_state()
        return c

    c, s = conn(a, True), conn(b, False)
    done = [False, False]
    for _ in range(20):
        for i, (x, y) in enumerate(((c, s), (s, c))):
            if not done[i]:
                try:
                    x.do_handshake()
                    done[i] = True
                except SSL.WantReadError:
                    pass
            while True:
                try:
                    y.bio_write(x.bio_read(1500))
                except SSL.WantReadError:
                    break
        if all(done):
            return c, s
    raise RuntimeError("pyOpenSSL handshake stalled")


def cases() -> list[Case]:
    a = RTCCertificate.generateCertificate()
    b = RTCCertificate.generateCertificate()
    data = os.urandom(PAYLOAD)

    tx, rx = _ours_pair(a, b)

    def ours_record() -> object:
        # the per-packet API: one call each side
        return rx.receive(tx.send_record(data), 0.0)  # type: ignore[arg-type]

    record = Case(
        name=f"DTLS record encrypt+decrypt {PAYLOAD} B",
        ours=ours_record,
        bytes_per_op=PAYLOAD,
        target_ratio=3.0,
    )
    handshake = Case(
        name="DTLS handshake in memory (ours<->ours)",
        ours=lambda: _ours_pair(a, b),
        note="ms per handshake = 1000 / ops",
    )
    try:
        ptx, prx = _pyopenssl_pair(a, b)
    except ImportError:
        return [record, handshake]

    def pyopenssl_record() -> object:
        ptx.send(data)
        prx.bio_write(ptx.bio_read(1500))
        return prx.recv(1500)

    assert ours_record() == data and pyopenssl_record() == data
    record.baseline = pyopenssl_record
    record.baseline_name = "pyOpenSSL send+bio_read / bio_write+recv (aiortc)"
    handshake.baseline = lambda: _pyopenssl_pair(a, b)
    handshake.baseline_name = "pyOpenSSL<->pyOpenSSL"
    return [record, handshake]


__all__ = ["cases"]
