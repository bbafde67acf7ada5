"""DtlsEndpoint: in-memory handshakes in virtual time, ours<->ours and ours<->pyOpenSSL."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any, Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcengine._core.dtls import (
    DEFAULT_SRTP_PROFILES,
    SRTP_PROFILES,
    VIRTUAL_TIME_RETRANSMISSION,
    DtlsEndpoint,
)
from rtcengine.exceptions import InvalidAccessError, InvalidStateError
from rtcengine.rtccertificate import RTCCertificate, RTCDtlsFingerprint

# OpenSSL >= 3.2 retransmits only once its real-clock timer expired too (see
# the dtls module docstring); tests that skip ahead in virtual time need < 3.2.
needs_virtual_time = pytest.mark.skipif(
    not VIRTUAL_TIME_RETRANSMISSION, reason="OpenSSL >= 3.2: retransmission needs real time"
)


class Peer(Protocol):
    def poll_datagrams(self) -> list[bytes]: ...
    def handle_datagram(self, data: bytes, now: float) -> None: ...
    def next_timeout(self) -> float | None: ...
    def handle_timeout(self, now: float) -> None: ...
    @property
    def state(self) -> str: ...


@pytest.fixture(scope="module")
def certs() -> tuple[RTCCertificate, RTCCertificate]:
    return RTCCertificate.generateCertificate(), RTCCertificate.generateCertificate()


@pytest.fixture(scope="module")
def rsa_cert() -> RTCCertificate:
    return RTCCertificate.generateCertificate(
        {"name": "RSASSA-PKCS1-v1_5", "modulusLength": 2048, "publicExponent": 65537}
    )


def pair(
    client_cert: RTCCertificate,
    server_cert: RTCCertificate,
    *,
    client_fp: list[RTCDtlsFingerprint] | None = None,
    server_fp: list[RTCDtlsFingerprint] | None = None,
    **kw: Any,
) -> tuple[DtlsEndpoint, DtlsEndpoint]:
    c = client_cert.create_dtls_endpoint(
        "client", client_fp if client_fp is not None else server_cert.getFingerprints(), **kw
    )
    s = server_cert.create_dtls_endpoint(
        "server", server_fp if server_fp is not None else client_cert.getFingerprints(), **kw
    )
    return c, s


# A network filter: (direction, index of the datagram in that direction, data)
# -> datagrams to deliver now (possibly none, possibly several).
Filter = Callable[[str, int, bytes], list[bytes]]


def deliver_all(direction: str, index: int, data: bytes) -> list[bytes]:
    return [data]


def run(
    a: Peer,
    b: Peer,
    net: Filter = deliver_all,
    *,
    until: Callable[[], bool] | None = None,
    max_time: float = 30.0,
    reorder: bool = False,
) -> float:
    """Move datagrams between a and b in virtual time until both are connected
    (or ``until()``), jumping the clock to the next deadline when idle."""
    now = 0.0
    counts = {"a->b": 0, "b->a": 0}
    done = until or (lambda: a.state == "connected" and b.state == "connected")
    for ep in (a, b):
        if ep.state == "new" and hasattr(ep, "start"):
            ep.start(now)
    while now < max_time:
        moved = False
        for src, dst, name in ((a, b, "a->b"), (b, a, "b->a")):
            batch: list[bytes] = []
            for d in src.poll_datagrams():
                batch.extend(net(name, counts[name], d))
                counts[name] += 1
            if reorder:
                batch.reverse()
            for d in batch:
                dst.handle_datagram(d, now)
                moved = True
        if done():
            return now
        if any(ep.state == "failed" for ep in (a, b)) and until is None:
            return now
        if not moved:
            deadlines = [t for t in (a.next_timeout(), b.next_timeout()) if t is not None]
            if not deadlines:
                return now
            now = max(now, min(deadlines))
            a.handle_timeout(now)
            b.handle_timeout(now)
    return now


def exchange_app_data(a: DtlsEndpoint, b: DtlsEndpoint) -> None:
    msg = os.urandom(1188)
    a.send(msg)
    for d in a.poll_datagrams():
        b.handle_datagram(d, 100.0)
    assert b.recv() == msg
    b.send(b"pong")
    for d in b.poll_datagrams():
        a.handle_datagram(d, 100.0)
    assert a.recv() == b"pong"
    assert a.recv() is None


# ----------------------------------------------------------------- ours <-> ours


@pytest.mark.parametrize("client_first", [True, False], ids=["a-client", "a-server"])
def test_handshake_both_role_assignments(certs: Any, client_first: bool) -> None:
    c, s = pair(*certs)
    a, b = (c, s) if client_first else (s, c)
    sent: list[int] = []

    def count(direction: str, index: int, data: bytes) -> list[bytes]:
        sent.append(len(data))
        return [data]

    t = run(a, b, count)
    assert t == 0.0, "a lossless handshake needs no retransmission"
    # RFC 6347 §4.2.4 flights 1, 2(4), 3(5), 4(6): one datagram each, nothing doubled.
    assert len(sent) == 4
    assert c.retransmissions == s.retransmissions == 0
    assert (a.state, b.state) == ("connected", "connected")
    exchange_app_data(a, b)
    assert c.cipher_suite == s.cipher_suite == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert c.protocol_version == "DTLSv1.2"
    assert c.next_timeout() is None and s.next_timeout() is None
    assert c.remote_certificate_der == certs[1].certificate_der
    assert s.remote_certificate_der == certs[0].certificate_der


def test_per_packet_api(certs: Any) -> None:
    c, s = pair(*certs)
    run(c, s)
    for n in (1, 100, 1188, 16384):
        msg = os.urandom(n)
        dgram = c.send_record(msg)
        assert dgram is not None and dgram[0] == 23  # application_data record
        assert s.receive(dgram, 1.0) == msg
    assert c.send_record(b"") is None
    assert c.poll_datagrams() == []  # nothing was queued
    # queued datagrams are left alone by send_record
    c.send(b"queued")
    direct = c.send_record(b"direct")
    queued = c.poll_datagrams()
    assert len(queued) == 1
    assert direct is not None and s.receive(direct, 1.0) == b"direct"
    assert s.receive(queued[0], 1.0) == b"queued"
    assert s.receive(b"garbage", 1.0) is None


def test_srtp_profile_and_keys_mirror(certs: Any) -> None:
    c, s = pair(*certs)
    run(c, s)
    assert c.srtp_profile == s.srtp_profile == 0x0008  # our first preference
    assert c.srtp_profile_name == "SRTP_AEAD_AES_256_GCM"
    pid, lk, ls, rk, rs = c.export_srtp_keys()
    assert s.export_srtp_keys() == (pid, rk, rs, lk, ls)
    assert (len(lk), len(ls)) == (32, 12)
    assert lk != rk


@pytest.mark.parametrize(
    ("offer", "answer", "agreed"),
    [
        ((0x0001,), DEFAULT_SRTP_PROFILES, 0x0001),
        ((0x0007, 0x0001), (0x0001, 0x0007), 0x0001),  # RFC 5764 §4.1.1: the server chooses
        ((0x0002,), (0x0002, 0x0001), 0x0002),
    ],
)
def test_srtp_profile_negotiation(
    certs: Any, offer: tuple[int, ...], answer: tuple[int, ...], agreed: int
) -> None:
    c = certs[0].create_dtls_endpoint("client", certs[1].getFingerprints(), offer)
    s = certs[1].create_dtls_endpoint("server", certs[0].getFingerprints(), answer)
    run(c, s)
    assert c.srtp_profile == s.srtp_profile == agreed
    _, key_len, salt_len = SRTP_PROFILES[agreed]
    pid, lk, ls, rk, rs = c.export_srtp_keys()
    assert (pid, len(lk), len(ls), len(rk), len(rs)) == (
        agreed,
        key_len,
        salt_len,
        key_len,
        salt_len,
    )
    assert s.export_srtp_keys() == (pid, rk, rs, lk, ls)


def test_no_srtp_means_no_keys(certs: Any) -> None:
    c, s = pair(*certs, srtp_profiles=())
    run(c, s)
    assert c.srtp_profile is None
    with pytest.raises(InvalidStateError, match="use_srtp"):
        c.export_srtp_keys()


def test_rsa_peer_certificate(certs: Any, rsa_cert: RTCCertificate) -> None:
    c, s = pair(certs[0], rsa_cert)
    run(c, s)
    assert (c.state, s.state) == ("connected", "connected")
    assert (c.cipher_suite or "").startswith("TLS_ECDHE_RSA_WITH_")
    exchange_app_data(c, s)


def test_client_hello_fits_one_datagram(certs: Any) -> None:
    c, _ = pair(*certs)
    c.start(0.0)
    out = c.poll_datagrams()
    assert len(out) == 1 and len(out[0]) < 300
    assert out[0][0] == 22 and out[0][13] == 1  # handshake record, ClientHello


def test_flights_respect_the_mtu(certs: Any, rsa_cert: RTCCertificate) -> None:
    c, s = pair(certs[0], rsa_cert, mtu=400)
    sizes: list[int] = []

    def spy(direction: str, index: int, data: bytes) -> list[bytes]:
        sizes.append(len(data))
        return [data]

    run(c, s, spy)
    assert (c.state, s.state) == ("connected", "connected")
    assert max(sizes) <= 400 and len(sizes) > 4


# ------------------------------------------------- loss, duplication, reordering


def drop(direction: str, *indices: int) -> Filter:
    def net(d: str, i: int, data: bytes) -> list[bytes]:
        return [] if d == direction and i in indices else [data]

    return net


@needs_virtual_time
@pytest.mark.parametrize(
    "net",
    [
        drop("a->b", 0),  # the first ClientHello
        drop("b->a", 0),  # the server's first flight
        drop("a->b", 1),  # the client's second flight (certificate .. Finished)
        drop("b->a", 1),  # the server's last flight (CCS, Finished)
        drop("a->b", 0, 1, 2),  # three ClientHellos in a row
        drop("b->a", 0, 1),
    ],
    ids=["client-hello", "server-flight", "client-finished", "server-finished", "3xCH", "2xSF"],
)
def test_recovers_from_dropped_flights(certs: Any, net: Filter) -> None:
    c, s = pair(*certs)
    t = run(c, s, net)
    assert (c.state, s.state) == ("connected", "connected")
    assert t > 0.0, "recovery needs a retransmission in virtual time"
    assert t < 2.0
    assert c.retransmissions + s.retransmissions >= 1
    exchange_app_data(c, s)


@needs_virtual_time
def test_retransmission_timer_doubles(certs: Any) -> None:
    c, _ = pair(*certs)
    c.start(0.0)
    c.poll_datagrams()
    assert c.next_timeout() == pytest.approx(0.1)  # initial RTO (module docstring)
    c.handle_timeout(0.05)  # early: nothing
    assert c.poll_datagrams() == []
    expected = 0.1
    rto = 0.1
    for _ in range(4):
        c.handle_timeout(expected)
        out = c.poll_datagrams()
        assert len(out) == 1 and out[0][13] == 1  # the ClientHello again
        rto *= 2
        expected += rto
        assert c.next_timeout() == pytest.approx(expected)


@needs_virtual_time
def test_gives_up_after_repeated_timeouts(certs: Any) -> None:
    c, _ = pair(*certs)
    c.start(0.0)
    while c.state == "connecting":
        t = c.next_timeout()
        assert t is not None
        c.handle_timeout(t)
        c.poll_datagrams()
    assert c.state == "failed"
    assert "timeout" in (c.failure_reason or "")
    assert c.next_timeout() is None


def test_duplicated_datagrams(certs: Any) -> None:
    c, s = pair(*certs)
    run(c, s, lambda d, i, data: [data, data])
    assert (c.state, s.state) == ("connected", "connected")
    exchange_app_data(c, s)


def test_reordered_datagrams(certs: Any, rsa_cert: RTCCertificate) -> None:
    # A small MTU splits each flight into several datagrams; deliver them backwards.
    c, s = pair(certs[0], rsa_cert, mtu=300)
    run(c, s, reorder=True)
    assert (c.state, s.state) == ("connected", "connected")
    exchange_app_data(c, s)


@needs_virtual_time
def test_random_loss_dup_reorder(certs: Any) -> None:
    rng = random.Random(1234)
    for _ in range(8):
        c, s = pair(*certs, mtu=500)

        def net(d: str, i: int, data: bytes) -> list[bytes]:
            r = rng.random()
            if r < 0.3:
                return []
            if r < 0.45:
                return [data, data]
            return [data]

        run(c, s, net, reorder=rng.random() < 0.5, max_time=120.0)
        assert (c.state, s.state) == ("connected", "connected")


def test_garbage_is_dropped_and_counted(certs: Any) -> None:
    c, s = pair(*certs)
    rng = random.Random(7)
    garbage = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 200))) for _ in range(20)]
    # Well-formed record headers with nonsense inside reach OpenSSL and are discarded there.
    garbage += [bytes([22, 0xFE, 0xFD]) + os.urandom(8) + b"\x00\x20" + os.urandom(32)]

    def net(d: str, i: int, data: bytes) -> list[bytes]:
        return [*garbage[:5], data, *garbage[5:]]

    run(c, s, net)
    assert (c.state, s.state) == ("connected", "connected")
    assert c.datagrams_dropped >= 20 and s.datagrams_dropped >= 20
    exchange_app_data(c, s)


# ------------------------------------------------------------------ identity


def test_fingerprint_mismatch_fails_both_sides(certs: Any) -> None:
    other = RTCCertificate.generateCertificate()
    c, s = pair(*certs, client_fp=other.getFingerprints())
    run(c, s, until=lambda: c.state == "failed" and s.state == "failed")
    assert c.state == "failed"
    assert c.failure_reason == "fingerprint-failure"
    assert s.state == "failed"  # the client's bad_certificate alert
    assert "bad certificate" in (s.failure_reason or "")
    # Nothing more comes out of the failed endpoint, nothing gets in.
    assert c.poll_datagrams() == []
    before = c.datagrams_dropped
    c.handle_datagram(bytes([23, 0xFE, 0xFD]) + bytes(8) + b"\x00\x04abcd", 1.0)
    assert c.datagrams_dropped == before + 1
    assert c.recv() is None
    with pytest.raises(InvalidStateError):
        c.send(b"x")
    with pytest.raises(InvalidStateError):
        c.export_srtp_keys()


def test_server_side_fingerprint_mismatch(certs: Any) -> None:
    other = RTCCertificate.generateCertificate()
    c, s = pair(*certs, server_fp=other.getFingerprints())
    run(c, s, until=lambda: s.state == "failed" and c.state != "connecting")
    assert s.failure_reason == "fingerprint-failure"
    assert c.state == "failed"
    assert s.recv() is None and c.recv() is None


def test_wrong_algorithm_fingerprint(certs: Any) -> None:
    # A sha-384 digest labelled sha-256 never matches.
    fp384 = certs[1].getFingerprints(["sha-384"])[0]
    c, s = pair(*certs, client_fp=[RTCDtlsFingerprint("sha-256", fp384.value)])
    run(c, s, until=lambda: c.state == "failed")
    assert c.failure_reason == "fingerprint-failure"


@pytest.mark.parametrize("alg", ["sha-384", "sha-512", "SHA-256"])
def test_other_fingerprint_algorithms(certs: Any, alg: str) -> None:
    fps = certs[1].getFingerprints([alg.lower()])
    c, s = pair(*certs, client_fp=[RTCDtlsFingerprint(alg, fps[0].value.lower())])
    run(c, s)
    assert (c.state, s.state) == ("connected", "connected")


def test_strongest_fingerprint_wins(certs: Any) -> None:
    # RFC 8122 §5: with sha-256 and sha-512 given, sha-512 decides.
    good256 = certs[1].getFingerprints(["sha-256"])[0]
    other512 = RTCCertificate.generateCertificate().getFingerprints(["sha-512"])[0]
    c, s = pair(*certs, client_fp=[good256, other512])
    run(c, s, until=lambda: c.state == "failed")
    assert c.failure_reason == "fingerprint-failure"


def test_unusable_fingerprints_are_refused(certs: Any) -> None:
    with pytest.raises(InvalidAccessError, match="no usable remote fingerprint"):
        certs[0].create_dtls_endpoint("client", [("md5", "00:11")])
    with pytest.raises(ValueError, match="malformed fingerprint"):
        certs[0].create_dtls_endpoint("client", [("sha-256", "xyz")])


# ------------------------------------------------------------- close, misuse


def test_close_sends_close_notify(certs: Any) -> None:
    c, s = pair(*certs)
    run(c, s)
    c.close()
    assert c.state == "closed"
    out = c.poll_datagrams()
    assert len(out) == 1 and out[0][0] == 21  # an alert record
    for d in out:
        s.handle_datagram(d, 1.0)
    assert s.state == "closed"
    assert s.failure_reason is None
    with pytest.raises(InvalidStateError):
        c.send(b"late")


def test_misuse(certs: Any) -> None:
    c, s = pair(*certs)
    with pytest.raises(InvalidStateError):
        c.send(b"too early")
    c.start(0.0)
    with pytest.raises(InvalidStateError):
        c.start(0.0)
    with pytest.raises(ValueError, match="role must be"):
        certs[0].create_dtls_endpoint("active", certs[1].getFingerprints())
    with pytest.raises(ValueError, match="unsupported SRTP protection profile"):
        certs[0].create_dtls_endpoint("client", certs[1].getFingerprints(), [0x0003])
    run(c, s)
    with pytest.raises(ValueError, match="too large"):
        c.send(bytes(16385))
    with pytest.raises(TypeError):
        c.send("text")  # type: ignore[arg-type]


def test_bad_certificate_input() -> None:
    with pytest.raises(InvalidAccessError, match="certificate"):
        DtlsEndpoint(b"not der", b"nor this", "client", [("sha-256", "00")])


# ------------------------------------------------------- ours <-> pyOpenSSL

SSL = pytest.importorskip("OpenSSL.SSL")


class PyOpenSSLPeer:
    """pyOpenSSL over memory BIOs, driven the way aiortc drives it."""

    def __init__(
        self, cert: RTCCertificate, role: str, profiles: bytes, *, ciphers: bytes | None = None
    ) -> None:
        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: True)
        ctx.use_certificate(cert._cert)
        ctx.use_privatekey(cert._key)
        ctx.set_cipher_list(
            ciphers
            or b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
            b"ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
        )
        ctx.set_tlsext_use_srtp(profiles)
        self.conn = SSL.Connection(ctx)
        if role == "client":
            self.conn.set_connect_state()
        else:
            self.conn.set_accept_state()
        self.role = role
        self.state = "new"
        self.app: list[bytes] = []

    def start(self, now: float) -> None:
        self.state = "connecting"
        self._step()

    def _step(self) -> None:
        try:
            if self.state == "connecting":
                self.conn.do_handshake()
                self.state = "connected"
            while self.state == "connected":
                self.app.append(self.conn.recv(1500))
        except SSL.WantReadError:
            pass
        except SSL.ZeroReturnError:
            self.state = "closed"
        except SSL.Error:
            self.state = "failed"

    def handle_datagram(self, data: bytes, now: float) -> None:
        self.conn.bio_write(data)
        self._step()

    def poll_datagrams(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.conn.bio_read(1500))
            except SSL.WantReadError:
                return out

    def next_timeout(self) -> float | None:
        return None  # pyOpenSSL's timer runs on the real clock; these tests lose nothing of its

    def handle_timeout(self, now: float) -> None:
        pass


def srtp_split(material: bytes, key_len: int, salt_len: int) -> tuple[bytes, bytes, bytes, bytes]:
    """RFC 5764 §4.2, written out independently: client key, server key, client salt, server salt."""
    ck, sk = material[:key_len], material[key_len : 2 * key_len]
    cs = material[2 * key_len : 2 * key_len + salt_len]
    ss = material[2 * key_len + salt_len : 2 * (key_len + salt_len)]
    return ck, sk, cs, ss


@pytest.mark.parametrize("ours_role", ["client", "server"])
@pytest.mark.parametrize("mode", ["clean", "duplicated", "reordered"])
def test_interop_pyopenssl(certs: Any, ours_role: str, mode: str) -> None:
    ours = certs[0].create_dtls_endpoint(ours_role, certs[1].getFingerprints())
    theirs = PyOpenSSLPeer(
        certs[1],
        "server" if ours_role == "client" else "client",
        b"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
    )
    net = (lambda d, i, data: [data, data]) if mode == "duplicated" else deliver_all
    run(ours, theirs, net, reorder=mode == "reordered")
    assert (ours.state, theirs.state) == ("connected", "connected")
    # app data both ways
    ours.send(b"x" * 1188)
    for d in ours.poll_datagrams():
        theirs.handle_datagram(d, 1.0)
    assert theirs.app == [b"x" * 1188]
    theirs.conn.send(b"from pyopenssl")
    for d in theirs.poll_datagrams():
        ours.handle_datagram(d, 1.0)
    assert ours.recv() == b"from pyopenssl"
    # SRTP: same profile, same keys as pyOpenSSL's export split by hand
    assert ours.srtp_profile == 0x0007
    assert theirs.conn.get_selected_srtp_profile() == b"SRTP_AEAD_AES_128_GCM"
    assert ours.cipher_suite == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    material = theirs.conn.export_keying_material(b"EXTRACTOR-dtls_srtp", 2 * (16 + 12))
    ck, sk, cs, ss = srtp_split(material, 16, 12)
    pid, lk, ls, rk, rs = ours.export_srtp_keys()
    if ours_role == "client":
        assert (lk, ls, rk, rs) == (ck, cs, sk, ss)
    else:
        assert (lk, ls, rk, rs) == (sk, ss, ck, cs)


@needs_virtual_time
def test_interop_pyopenssl_server_first_client_hello_lost(certs: Any) -> None:
    ours = certs[0].create_dtls_endpoint("client", certs[1].getFingerprints())
    theirs = PyOpenSSLPeer(certs[1], "server", b"SRTP_AES128_CM_SHA1_80")
    t = run(ours, theirs, drop("a->b", 0))
    assert (ours.state, theirs.state) == ("connected", "connected")
    assert t == pytest.approx(0.1)
    assert ours.srtp_profile == 0x0001


def test_interop_pyopenssl_fingerprint_mismatch(certs: Any) -> None:
    other = RTCCertificate.generateCertificate()
    ours = certs[0].create_dtls_endpoint("server", other.getFingerprints())
    theirs = PyOpenSSLPeer(certs[1], "client", b"SRTP_AES128_CM_SHA1_80")
    run(ours, theirs, until=lambda: ours.state == "failed" and theirs.state != "connecting")
    assert ours.failure_reason == "fingerprint-failure"
    assert theirs.state == "failed"
    assert ours.recv() is None


def test_interop_alert_is_surfaced(certs: Any) -> None:
    # pyOpenSSL offers only CBC suites, which we do not: its server answers
    # handshake_failure, which we report.
    ours = certs[0].create_dtls_endpoint("client", certs[1].getFingerprints())
    theirs = PyOpenSSLPeer(
        certs[1], "server", b"SRTP_AES128_CM_SHA1_80", ciphers=b"ECDHE-ECDSA-AES128-SHA"
    )
    run(ours, theirs, until=lambda: ours.state == "failed")
    assert ours.state == "failed"
    assert ours.failure_reason == "alert received: handshake failure"


def test_interop_close_notify_from_pyopenssl(certs: Any) -> None:
    ours = certs[0].create_dtls_endpoint("client", certs[1].getFingerprints())
    theirs = PyOpenSSLPeer(certs[1], "server", b"SRTP_AES128_CM_SHA1_80")
    run(ours, theirs)
    theirs.conn.shutdown()
    for d in theirs.poll_datagrams():
        ours.handle_datagram(d, 1.0)
    assert ours.state == "closed"


# ------------------------------------------------------------ DTLS -> SRTP


def test_srtp_sessions_from_exported_keys(certs: Any) -> None:
    srtp = pytest.importorskip("rtcengine._core.srtp")
    c, s = pair(*certs)
    run(c, s)
    pid, lk, ls, rk, rs = c.export_srtp_keys()
    spid, slk, sls, srk, srs = s.export_srtp_keys()
    rtp = bytes.fromhex("800f1234decafbadcafebabe") + b"\xab" * 160
    tx = srtp.SrtpSession(pid, lk, ls)
    rx = srtp.SrtpSession(spid, srk, srs)
    protected = tx.protect(rtp)
    assert protected != rtp
    assert rx.unprotect(protected) == rtp
    # and the other direction
    tx2 = srtp.SrtpSession(spid, slk, sls)
    rx2 = srtp.SrtpSession(pid, rk, rs)
    assert rx2.unprotect(tx2.protect(rtp)) == rtp
    # the convenience pair: (outbound, inbound) on each side
    c_out, c_in = c.create_srtp_sessions()
    s_out, s_in = s.create_srtp_sessions()
    assert s_in.unprotect(c_out.protect(rtp)) == rtp
    assert c_in.unprotect(s_out.protect(rtp)) == rtp
    other_ssrc = rtp[:8] + b"\x01\x02\x03\x04" + rtp[12:]
    with pytest.raises(srtp.SrtpAuthError):
        c_in.unprotect(c_out.protect(other_ssrc))  # our own key is not the peer's


@pytest.mark.parametrize("profile", [0x0001, 0x0002, 0x0007, 0x0008])
def test_split_agrees_with_srtp_module(certs: Any, profile: int) -> None:
    srtp = pytest.importorskip("rtcengine._core.srtp")
    ours = certs[0].create_dtls_endpoint("client", certs[1].getFingerprints(), [profile])
    name = SRTP_PROFILES[profile][0].encode()
    theirs = PyOpenSSLPeer(certs[1], "server", name)
    run(ours, theirs)
    material = theirs.conn.export_keying_material(
        b"EXTRACTOR-dtls_srtp", srtp.keying_material_length(profile)
    )
    ck, cs, sk, ss = srtp.split_keying_material(profile, material)
    assert ours.export_srtp_keys() == (profile, ck, cs, sk, ss)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=10))
def test_connected_endpoint_survives_garbage(datagrams: list[bytes]) -> None:
    c, s = CONNECTED
    for d in datagrams:
        s.handle_datagram(d, 50.0)
        s.handle_datagram(
            bytes([23, 0xFE, 0xFD]) + d[:8].ljust(8, b"\0") + len(d).to_bytes(2, "big") + d, 50.0
        )
    assert s.state == "connected"
    assert s.recv() is None
    exchange_app_data(c, s)


def _connected_pair() -> tuple[DtlsEndpoint, DtlsEndpoint]:
    a, b = RTCCertificate.generateCertificate(), RTCCertificate.generateCertificate()
    c, s = pair(a, b)
    run(c, s)
    return c, s


CONNECTED = _connected_pair()
