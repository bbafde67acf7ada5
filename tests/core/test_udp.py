"""Batched UDP I/O: the RFC 7983 demux table, recvmmsg bursts (order, contents,
addresses for IPv4, IPv6 and v4-mapped), sendmmsg flushes, the EAGAIN and
ICMP-error paths, kernel drop accounting, and no allocation in steady state.
"""

from __future__ import annotations

import errno
import gc
import socket
import struct
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcengine._core import stun, udp
from rtcengine._core.udp import Kind

LOOP4 = "127.0.0.1"


def stun_binding() -> bytes:
    return stun.Message(stun.BINDING, stun.REQUEST).marshal()


def udp_socket(family: int = socket.AF_INET, host: str = LOOP4) -> socket.socket:
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, 0))
    s.setblocking(False)
    return s


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = udp_socket(), udp_socket()
    yield a, b
    a.close()
    b.close()


def have_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ demux

BINDING = stun_binding()
# Named cases: (name, datagram, kind).  RFC 7983 §7 ranges and the checks
# made inside each range.
DEMUX_CASES: list[tuple[str, bytes, int]] = [
    ("empty datagram", b"", Kind.UNKNOWN),
    ("STUN binding request (first byte 0)", BINDING, Kind.STUN),
    ("STUN first byte 1 (a response)",
     stun.Message(stun.BINDING, stun.SUCCESS_RESPONSE).marshal(), Kind.STUN),
    ("STUN range, wrong magic cookie", BINDING[:4] + b"\0\0\0\0" + BINDING[8:], Kind.MALFORMED),
    ("STUN range, length does not cover datagram", BINDING + b"\0\0\0\0", Kind.MALFORMED),
    ("STUN range, shorter than the header", b"\x00\x01\x00\x00", Kind.MALFORMED),
    ("first byte 3 with a STUN header", b"\x03" + BINDING[1:], Kind.STUN),
    ("first byte 4: unassigned", b"\x04" + bytes(30), Kind.UNKNOWN),
    ("first byte 15: unassigned", b"\x0f" + bytes(30), Kind.UNKNOWN),
    ("first byte 16: ZRTP", b"\x10" + bytes(30), Kind.ZRTP),
    ("first byte 19: ZRTP", b"\x13" + bytes(30), Kind.ZRTP),
    ("DTLS change_cipher_spec (20)", b"\x14\xfe\xfd" + bytes(11), Kind.DTLS),
    ("DTLS handshake (22)", b"\x16\xfe\xfd" + bytes(20), Kind.DTLS),
    ("DTLS application_data (23)", b"\x17\xfe\xfd" + bytes(20), Kind.DTLS),
    ("first byte 63: DTLS range end", b"\x3f" + bytes(20), Kind.DTLS),
    ("ChannelData 0x4000, 4 bytes payload", b"\x40\x00\x00\x04abcd", Kind.CHANNEL_DATA),
    ("ChannelData 0x4FFF, padded", b"\x4f\xff\x00\x03abc\x00", Kind.CHANNEL_DATA),
    ("ChannelData empty payload", b"\x40\x01\x00\x00", Kind.CHANNEL_DATA),
    ("ChannelData length beyond the datagram", b"\x40\x00\x00\x10abcd", Kind.MALFORMED),
    ("ChannelData shorter than its header", b"\x40\x00\x00", Kind.MALFORMED),
    ("first byte 80: unassigned (QUIC in RFC 9443)", b"\x50" + bytes(30), Kind.UNKNOWN),
    ("first byte 127: unassigned", b"\x7f" + bytes(30), Kind.UNKNOWN),
    ("RTP PT 96", b"\x80\x60" + bytes(10), Kind.RTP),
    ("RTP PT 111 with marker", b"\x80\xef" + bytes(100), Kind.RTP),
    ("RTP first byte 191 (V=2 P X CC=15)", b"\xbf\x60" + bytes(80), Kind.RTP),
    ("RTP shorter than 12 bytes", b"\x80\x60" + bytes(9), Kind.MALFORMED),
    ("RTCP sender report (200)", b"\x80\xc8\x00\x06" + bytes(24), Kind.RTCP),
    ("RTCP receiver report (201), no blocks", b"\x80\xc9\x00\x01" + bytes(4), Kind.RTCP),
    ("RTCP PT 192 (RFC 5761 range start)", b"\x80\xc0\x00\x00", Kind.RTCP),
    ("RTCP PT 223 (RFC 5761 range end)", b"\x81\xdf\x00\x00", Kind.RTCP),
    ("second byte 224 is RTP (marker + PT 96)", b"\x80\xe0" + bytes(10), Kind.RTP),
    ("RTCP shorter than its header", b"\x80\xc8\x00", Kind.MALFORMED),
    ("RTP range, one byte", b"\x80", Kind.MALFORMED),
    ("first byte 192: unassigned", b"\xc0" + bytes(30), Kind.UNKNOWN),
    ("first byte 255: unassigned", b"\xff" + bytes(30), Kind.UNKNOWN),
]


@pytest.mark.parametrize(("data", "kind"), [c[1:] for c in DEMUX_CASES],
                         ids=[c[0] for c in DEMUX_CASES])
def test_demux_table(data: bytes, kind: int) -> None:
    assert udp.demux(data) == kind


def reference_demux(d: bytes) -> int:
    """RFC 7983 §7 written out from the RFC, independently of the C code."""
    if not d:
        return Kind.UNKNOWN
    b = d[0]
    if b <= 3:
        ok = (len(d) >= 20 and d[4:8] == b"\x21\x12\xa4\x42"
              and struct.unpack("!H", d[2:4])[0] % 4 == 0
              and struct.unpack("!H", d[2:4])[0] + 20 == len(d))
        return Kind.STUN if ok else Kind.MALFORMED
    if 16 <= b <= 19:
        return Kind.ZRTP
    if 20 <= b <= 63:
        return Kind.DTLS
    if 64 <= b <= 79:
        ok = len(d) >= 4 and struct.unpack("!H", d[2:4])[0] + 4 <= len(d)
        return Kind.CHANNEL_DATA if ok else Kind.MALFORMED
    if 128 <= b <= 191:
        if len(d) >= 2 and 192 <= d[1] <= 223:
            return Kind.RTCP if len(d) >= 4 else Kind.MALFORMED
        return Kind.RTP if len(d) >= 12 else Kind.MALFORMED
    return Kind.UNKNOWN


@given(st.binary(max_size=64) | st.builds(lambda b, rest: bytes([b]) + rest,
                                          st.integers(0, 255), st.binary(max_size=40)))
def test_demux_matches_the_rfc_table(data: bytes) -> None:
    assert udp.demux(data) == reference_demux(data)


def test_every_first_byte_maps_to_its_rfc7983_range() -> None:
    for b in range(256):
        k = udp.demux(bytes([b]) + bytes(39))
        if b <= 3:
            assert k == Kind.MALFORMED  # STUN range without a cookie
        elif 16 <= b <= 19:
            assert k == Kind.ZRTP
        elif 20 <= b <= 63:
            assert k == Kind.DTLS
        elif 64 <= b <= 79:
            assert k == Kind.CHANNEL_DATA  # length 0 fits
        elif 128 <= b <= 191:
            assert k == Kind.RTP
        else:
            assert k == Kind.UNKNOWN, b


def test_demux_accepts_any_buffer() -> None:
    assert udp.demux(bytearray(BINDING)) == Kind.STUN
    assert udp.demux(memoryview(BINDING)) == Kind.STUN
    with pytest.raises(TypeError):
        udp.demux("text")  # type: ignore[arg-type]


# ------------------------------------------------------------- receive

def rtp(i: int, size: int = 100) -> bytes:
    body = struct.pack("!BBHII", 0x80, 96, i & 0xFFFF, i, 0x1234) + bytes([i & 0xFF]) * size
    return body[:size] if size >= 12 else body


def test_recv_burst_order_contents_addresses(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    sent = [rtp(i, 40 + i) for i in range(50)]
    for d in sent:
        b.sendto(d, a.getsockname())
    batch = udp.RecvBatch(64)
    assert udp.recv_batch(a.fileno(), batch) == 50
    assert len(batch) == batch.count == 50 == batch.delivered
    assert [batch.data(i) for i in range(50)] == sent
    assert [bytes(batch.view(i)) for i in range(50)] == sent
    assert list(batch.lengths[:50]) == [len(d) for d in sent]
    assert list(batch.kinds[:50]) == [Kind.RTP] * 50
    assert all(batch.addr(i) == b.getsockname() for i in range(50))
    # The same tuple object is reused for a repeated peer (cache).
    assert batch.addr(0) is batch.addr(49)
    # Slots in the shared buffer at their offsets.
    off = batch.offsets[7]
    assert off == 7 * batch.slot_size
    assert bytes(batch.buffer[off:off + batch.lengths[7]]) == sent[7]
    # Drained: the next call finds nothing (EAGAIN -> 0).
    assert udp.recv_batch(a.fileno(), batch) == 0
    assert batch.count == 0
    s = batch.stats()
    assert s["datagrams"] == 50 and s["rtp"] == 50 and s["batches"] == 1
    assert s["bytes"] == sum(map(len, sent)) and s["dropped"] == 0


def test_recv_burst_larger_than_batch(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    for i in range(20):
        b.sendto(rtp(i), a.getsockname())
    batch = udp.RecvBatch(8)
    got: list[bytes] = []
    while n := udp.recv_batch(a.fileno(), batch):
        assert n <= 8
        got += [batch.data(i) for i in range(n)]
    assert got == [rtp(i) for i in range(20)]
    assert batch.batches == 3


def test_recv_mixed_kinds_drops_are_counted(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    mixed = [BINDING, b"\x16\xfe\xfd" + bytes(20), b"\x40\x00\x00\x02hi", rtp(1),
             b"\x80\xc9\x00\x01" + bytes(4), b"\x10zrtp", b"\xffjunk", b"", b"\x00bad"]
    for d in mixed:
        b.sendto(d, a.getsockname())
    batch = udp.RecvBatch()
    assert udp.recv_batch(a.fileno(), batch) == len(mixed)
    assert list(batch.kinds[:len(mixed)]) == [
        Kind.STUN, Kind.DTLS, Kind.CHANNEL_DATA, Kind.RTP, Kind.RTCP,
        Kind.ZRTP, Kind.UNKNOWN, Kind.UNKNOWN, Kind.MALFORMED]
    assert batch.delivered == 5
    s = batch.stats()
    assert (s["stun"], s["dtls"], s["channel_data"], s["rtp"], s["rtcp"]) == (1, 1, 1, 1, 1)
    assert (s["zrtp"], s["unknown"], s["malformed"], s["dropped"]) == (1, 2, 1, 4)


def test_recv_truncated_datagram_is_dropped(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    b.sendto(rtp(1, 100), a.getsockname())
    b.sendto(rtp(2, 32), a.getsockname())
    batch = udp.RecvBatch(4, slot_size=64)
    assert udp.recv_batch(a.fileno(), batch) == 2
    assert batch.kind(0) == Kind.TRUNCATED and batch.length(0) == 64
    assert batch.kind(1) == Kind.RTP and batch.data(1) == rtp(2, 32)
    assert batch.stats()["truncated"] == 1


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback (::1) on this host")
def test_recv_and_send_ipv6() -> None:
    a, b = udp_socket(socket.AF_INET6, "::1"), udp_socket(socket.AF_INET6, "::1")
    try:
        q = udp.SendQueue(family=socket.AF_INET6)
        for i in range(10):
            assert q.queue(rtp(i), ("::1", a.getsockname()[1]))
        assert q.flush(b.fileno()) == (10, 0)
        batch = udp.RecvBatch()
        assert udp.recv_batch(a.fileno(), batch) == 10
        assert [batch.data(i) for i in range(10)] == [rtp(i) for i in range(10)]
        assert batch.addr(3) == ("::1", b.getsockname()[1])
        # 4-tuples as asyncio reports IPv6 addresses are accepted too.
        assert q.queue(b"\x80" * 12, ("::1", a.getsockname()[1], 0, 0))
        with pytest.raises(ValueError, match="IPv6"):
            udp.SendQueue(family=socket.AF_INET).queue(b"x", ("::1", 9))
    finally:
        a.close()
        b.close()


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback (::1) on this host")
def test_dual_stack_reports_v4_mapped_as_ipv4() -> None:
    a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    a.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    a.bind(("::", 0))
    a.setblocking(False)
    b = udp_socket()
    try:
        port = a.getsockname()[1]
        b.sendto(rtp(5), (LOOP4, port))
        batch = udp.RecvBatch()
        assert udp.recv_batch(a.fileno(), batch) == 1
        assert batch.addr(0) == b.getsockname()          # not ('::ffff:127.0.0.1', ...)
        # Replies to an IPv4 peer from the dual-stack socket (mapped in C).
        q = udp.SendQueue(family=socket.AF_INET6)
        assert q.queue(b"\x80\x60" + bytes(10), b.getsockname())
        assert q.queue_reply(b"\x80\x61" + bytes(10), batch, 0)
        assert q.flush(a.fileno()) == (2, 0)
        time.sleep(0.01)
        assert b.recv(100)[:2] == b"\x80\x60"
        assert b.recv(100)[:2] == b"\x80\x61"
        # A v4-mapped destination on an IPv4 queue is unmapped.
        q4 = udp.SendQueue(family=socket.AF_INET)
        assert q4.queue(b"m", ("::ffff:127.0.0.1", port))
        assert q4.flush(b.fileno()) == (1, 0)
    finally:
        a.close()
        b.close()


def test_recv_on_a_bad_descriptor_raises() -> None:
    with pytest.raises(OSError) as e:
        udp.recv_batch(-1, udp.RecvBatch(2))
    assert e.value.errno == errno.EBADF


def test_batch_views_are_typed_and_outlive_the_batch(
        pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    b.sendto(rtp(9), a.getsockname())
    batch = udp.RecvBatch(4)
    udp.recv_batch(a.fileno(), batch)
    lengths, buf = batch.lengths, batch.buffer
    assert lengths.format == "i" and lengths.itemsize == 4 and lengths.readonly
    assert batch.kinds.format == "B" and not buf.readonly and len(buf) == 4 * 2048
    with pytest.raises(TypeError):
        lengths[0] = 3
    buf[0] = 0x90                               # in place, as SRTP unprotect does
    assert batch.data(0)[0] == 0x90
    view = batch.view(0)
    del batch
    gc.collect()
    assert bytes(view)[1:] == rtp(9)[1:]        # memory kept alive by the view
    with pytest.raises(IndexError):
        udp.RecvBatch(2).data(0)


def test_capacity_and_slot_limits() -> None:
    with pytest.raises(ValueError, match="capacity"):
        udp.RecvBatch(0)
    with pytest.raises(ValueError, match="capacity"):
        udp.SendQueue(udp.MAX_BATCH + 1)
    with pytest.raises(ValueError, match="slot_size"):
        udp.RecvBatch(4, slot_size=8)
    with pytest.raises(ValueError, match="family"):
        udp.SendQueue(4, family=socket.AF_UNIX).queue(b"x", (LOOP4, 9))


# ---------------------------------------------------------------- send

def drain(s: socket.socket, want: int, timeout: float = 2.0) -> list[bytes]:
    out: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        try:
            out.append(s.recv(4096))
        except BlockingIOError:
            time.sleep(0.001)
    return out


def test_flush_sends_a_burst_intact(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    q = udp.SendQueue(64)
    burst = [rtp(i, 1200) for i in range(64)]
    for d in burst:
        assert q.queue(d, a.getsockname())
    assert q.pending == 64
    assert not q.queue(b"one too many", a.getsockname())   # full: caller flushes
    assert q.flush(b.fileno()) == (64, 0)
    assert q.pending == 0 and q.flush(b.fileno()) == (0, 0)
    assert drain(a, 64) == burst
    s = q.stats()
    assert s["sent"] == 64 and s["bytes"] == 64 * 1200 and s["send_errors"] == 0


def test_queue_rejects_bad_input() -> None:
    q = udp.SendQueue(2, slot_size=100)
    with pytest.raises(ValueError, match="exceeds the slot size"):
        q.queue(bytes(101), (LOOP4, 9))
    with pytest.raises(ValueError, match="numeric"):
        q.queue(b"x", ("localhost", 9))
    with pytest.raises(ValueError, match="port"):
        q.queue(b"x", (LOOP4, 70000))
    with pytest.raises(TypeError):
        q.queue(b"x", [LOOP4, 9])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        q.queue(b"x", (b"127.0.0.1", 9))  # type: ignore[arg-type]
    assert q.pending == 0                      # nothing half-queued
    assert q.queue(bytes(100), (LOOP4, 9))     # exactly one slot


def test_queue_reply_answers_the_source(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    for _ in range(3):
        b.sendto(BINDING, a.getsockname())
    batch = udp.RecvBatch()
    q = udp.SendQueue()
    n = udp.recv_batch(a.fileno(), batch)
    for i in range(n):
        assert q.queue_reply(b"\x01\x01" + batch.data(i)[2:], batch, i)
    assert q.flush(a.fileno()) == (3, 0)
    assert [d[:2] for d in drain(b, 3)] == [b"\x01\x01"] * 3
    with pytest.raises(IndexError):
        q.queue_reply(b"x", batch, 3)


def unix_pair() -> tuple[socket.socket, socket.socket]:
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    x.setblocking(False)
    y.setblocking(False)
    return x, y


def test_flush_keeps_what_would_block_then_resumes() -> None:
    # A datagram socketpair blocks the sender once its unread datagrams
    # exceed the send buffer, which UDP on loopback never does.
    x, y = unix_pair()
    x.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    try:
        q = udp.SendQueue(64)
        payloads = [struct.pack("!I", i) * 8 for i in range(64)]
        for d in payloads:
            assert q.queue(d, None)            # connected: no destination
        sent, dropped = q.flush(x.fileno())
        assert 0 < sent < 64 and dropped == 0
        assert q.pending == 64 - sent
        got: list[bytes] = []
        batch = udp.RecvBatch(64, slot_size=64)
        for _ in range(100):
            n = udp.recv_batch(y.fileno(), batch)
            got += [batch.data(i) for i in range(n)]
            assert batch.addr(0) is None if n else True   # AF_UNIX: no IP address
            q.flush(x.fileno())
            # Queue more behind the pending ones (compacts the slots).
            if len(got) > 40 and q.pending < 60 and len(payloads) < 80:
                extra = struct.pack("!I", len(payloads)) * 8
                payloads.append(extra)
                assert q.queue(extra, None)
            if len(got) == len(payloads):
                break
        assert got == payloads
        assert q.pending == 0 and q.send_errors == 0
    finally:
        x.close()
        y.close()


def test_icmp_errors_are_counted_not_raised() -> None:
    # A connected UDP socket learns ECONNREFUSED from the ICMP port
    # unreachable of its earlier sends; the next syscall reports it once.
    closed = udp_socket()
    port = closed.getsockname()[1]
    closed.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((LOOP4, port))
    s.setblocking(False)
    try:
        q = udp.SendQueue(8)
        batch = udp.RecvBatch(8)
        dropped_total = 0
        for _ in range(5):
            for _ in range(4):
                assert q.queue(b"\x80" * 20, None)
            sent, dropped = q.flush(s.fileno())
            dropped_total += dropped
            time.sleep(0.005)
        assert dropped_total >= 1 and q.send_errors == dropped_total
        assert q.last_errno == errno.ECONNREFUSED and q.pending == 0
        # The receive path reports the stored error as a count, not a raise.
        for _ in range(4):
            q.queue(b"\x80" * 20, None)
        q.flush(s.fileno())
        time.sleep(0.005)
        assert udp.recv_batch(s.fileno(), batch) == 0
        assert batch.recv_errors + q.send_errors >= 2
    finally:
        s.close()


def test_flush_on_a_bad_descriptor_raises_and_keeps_the_queue() -> None:
    q = udp.SendQueue(4)
    q.queue(b"x", (LOOP4, 9))
    with pytest.raises(OSError) as e:
        q.flush(-1)
    assert e.value.errno == errno.EBADF
    assert q.pending == 1 and q.clear() == 1 and q.pending == 0


def test_kernel_drops_are_counted_exactly() -> None:
    a, b = udp_socket(), udp_socket()
    try:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        if not udp.enable_drop_counter(a.fileno()):
            pytest.skip("no SO_RXQ_OVFL on this platform")
        q = udp.SendQueue(64)
        total = 0
        for _ in range(8):                        # 512 x 1200 B into a 32 KiB buffer
            for i in range(64):
                q.queue(rtp(total + i, 1200), a.getsockname())
            total += q.flush(b.fileno())[0]
        batch = udp.RecvBatch(64)
        received = 0
        while n := udp.recv_batch(a.fileno(), batch):
            received += n
        # SO_RXQ_OVFL stamps each datagram with the drops before it was
        # queued: the ones already queued when the buffer overflowed carry the
        # old count, so one more datagram brings the news.
        b.sendto(rtp(0), a.getsockname())
        received += drain_batch(a, batch)
        assert batch.kernel_drops > 0
        assert received + batch.kernel_drops == total + 1
    finally:
        a.close()
        b.close()


def drain_batch(s: socket.socket, batch: udp.RecvBatch, timeout: float = 2.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if n := udp.recv_batch(s.fileno(), batch):
            return n
        time.sleep(0.001)
    return 0


def tracemalloc_net(fn: Callable[[], object], n: int) -> int:
    for _ in range(1000):
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            fn()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before


def test_steady_state_allocates_nothing(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    q = udp.SendQueue(4)
    batch = udp.RecvBatch(4)
    data = rtp(1, 1200)
    dest = a.getsockname()
    fa, fb = a.fileno(), b.fileno()

    def round_trip() -> None:
        q.queue(data, dest)
        q.queue(data, dest)
        q.flush(fb)
        n = udp.recv_batch(fa, batch)
        for i in range(n):
            batch.addr(i)
            batch.kind(i)

    assert tracemalloc_net(round_trip, 10_000) < 4096


# ------------------------------------------------------------ UDP GSO
# Linux UDP_SEGMENT (udp(7)): a run of same-size datagrams to one destination
# leaves as one send; on loopback the kernel segments it again before the
# receiver, so a plain socket sees the individual datagrams.

needs_gso = pytest.mark.skipif(not udp.HAVE_GSO, reason="UDP GSO is Linux-only")


def gso_plan(sizes: list[int], dests: list[int] | None = None,
             slot_size: int = 2048) -> list[int]:
    q = udp.SendQueue(128, slot_size=slot_size)
    for i, n in enumerate(sizes):
        port = 9 + (dests[i] if dests else 0)
        assert q.queue(bytes(n), (LOOP4, port))
    return q.gso_plan()


@pytest.mark.parametrize(("sizes", "dests", "plan"), [
    ([1200] * 10 + [500], None, [11]),                 # equal, then one shorter last
    ([1200, 500, 1200], None, [2, 1]),                 # a shorter one ends the run
    ([500, 1200], None, [1, 1]),                       # a longer one never joins
    ([1200] * 4, [0, 0, 1, 1], [2, 2]),                # a new destination splits
    ([1200] * 3, [0, 1, 0], [1, 1, 1]),
    ([1000] * 65, None, [64, 1]),                      # UDP_MAX_SEGMENTS
    ([1200] * 60, None, [54, 6]),                      # 54 * 1200 <= 65507 < 55 * 1200
    ([2000] * 40, None, [32, 8]),                      # 65507-byte total limit
    ([100, 0, 0, 100], None, [1, 1, 1, 1]),            # 0-byte datagrams stay alone
    ([1200], None, [1]),
    ([], None, []),
])
def test_gso_run_grouping(sizes: list[int], dests: list[int] | None, plan: list[int]) -> None:
    assert gso_plan(sizes, dests) == plan


@given(st.lists(st.tuples(st.sampled_from([0, 1, 100, 1199, 1200, 2048]), st.integers(0, 2)),
                max_size=128))
def test_gso_runs_obey_the_kernel_rules(items: list[tuple[int, int]]) -> None:
    sizes = [n for n, _ in items]
    dests = [d for _, d in items]
    plan = gso_plan(sizes, dests)
    assert sum(plan) == len(items) and all(k >= 1 for k in plan)
    i = 0
    for k in plan:
        run_sizes, run_dests = sizes[i:i + k], dests[i:i + k]
        if k >= 2:
            s = run_sizes[0]
            assert k <= udp.GSO_MAX_SEGMENTS and sum(run_sizes) <= 65507
            assert len(set(run_dests)) == 1 and s > 0
            assert all(n == s for n in run_sizes[:-1]) and 0 < run_sizes[-1] <= s
        i += k


def burst(sizes: list[int]) -> list[bytes]:
    return [rtp(i, n) for i, n in enumerate(sizes)]


MIXED = [1200] * 20 + [700] + [1200] * 3 + [64, 64, 64, 30] + [1500] * 70 + [12] + [900] * 5


@pytest.mark.parametrize("gso", [True, False])
def test_gso_bursts_to_several_destinations_arrive_once_in_order(gso: bool) -> None:
    rx = [udp_socket() for _ in range(3)]
    tx = udp_socket()
    try:
        q = udp.SendQueue(64, gso=gso)
        assert q.gso == (gso and udp.HAVE_GSO)
        # Per receiver: a run of equal sizes, and the mixed sizes; the
        # destination changes every few datagrams.
        want: list[list[bytes]] = [[], [], []]
        data = burst([1200] * 100 + MIXED)
        sent = 0
        for i, d in enumerate(data):
            r = (i // 7) % 3
            if not q.queue(d, rx[r].getsockname()):
                sent += q.flush(tx.fileno())[0]
                assert q.queue(d, rx[r].getsockname())
            want[r].append(d)
        sent += q.flush(tx.fileno())[0]
        assert sent == len(data) and q.pending == 0
        for r in range(3):
            assert drain(rx[r], len(want[r])) == want[r]
            assert drain(rx[r], 1, timeout=0.01) == []   # nothing twice
        s = q.stats()
        assert s["sent"] == len(data) and s["bytes"] == sum(map(len, data))
        assert s["send_errors"] == 0 and s["gso_disabled"] == 0
        if gso and udp.HAVE_GSO:
            assert s["gso_sends"] > 0 and s["gso_segments"] >= 2 * s["gso_sends"]
            assert s["gso_segments"] <= len(data)
        else:
            assert s["gso_sends"] == 0 and s["gso_segments"] == 0
    finally:
        for x in rx + [tx]:
            x.close()


@needs_gso
def test_gso_equal_run_is_one_send(pair: tuple[socket.socket, socket.socket]) -> None:
    a, b = pair
    q = udp.SendQueue(64)
    data = burst([1200] * 10 + [500])
    for d in data:
        assert q.queue(d, a.getsockname())
    assert q.gso_plan() == [11]
    assert q.flush(b.fileno()) == (11, 0)
    assert drain(a, 11) == data
    s = q.stats()
    assert (s["gso_sends"], s["gso_segments"], s["bytes"]) == (1, 11, 12500)


@needs_gso
@pytest.mark.parametrize("err", [errno.EIO, errno.EINVAL, errno.ENOPROTOOPT, errno.EOPNOTSUPP])
def test_gso_refused_falls_back_without_loss_or_duplicates(
        pair: tuple[socket.socket, socket.socket], err: int) -> None:
    a, b = pair
    q = udp.SendQueue(64)
    q._fail_gso_with(err)
    # A lone datagram first: the sendmmsg sends it, then stops at the run.
    data = burst([300] + [1200] * 30 + [40] * 10)
    for d in data:
        assert q.queue(d, a.getsockname())
    assert q.gso_plan() == [1, 31, 9]   # the first 40-byte one ends the 1200 run
    assert q.flush(b.fileno()) == (len(data), 0)
    assert drain(a, len(data)) == data
    assert drain(a, 1, timeout=0.01) == []
    s = q.stats()
    assert s["gso_disabled"] == 1 and s["gso_sends"] == 0 and not q.gso
    assert s["sent"] == len(data) and s["send_errors"] == 0 and q.last_errno == 0
    # Sticky: later flushes send one datagram per msghdr, and count no more.
    for d in data:
        assert q.queue(d, a.getsockname())
    assert q.flush(b.fileno()) == (len(data), 0)
    assert drain(a, len(data)) == data
    assert q.stats()["gso_disabled"] == 1


@needs_gso
def test_gso_refused_by_the_kernel_falls_back(pair: tuple[socket.socket, socket.socket]) -> None:
    # SO_NO_CHECK (no UDP checksum) makes udp_send_skb refuse GSO with EINVAL.
    a, b = pair
    b.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_NO_CHECK", 11), 1)
    q = udp.SendQueue(64)
    data = burst([1200] * 8 + [100])
    for d in data:
        assert q.queue(d, a.getsockname())
    assert q.flush(b.fileno()) == (9, 0)
    assert drain(a, 9) == data and drain(a, 1, timeout=0.01) == []
    s = q.stats()
    assert s["gso_disabled"] == 1 and s["gso_sends"] == 0 and s["send_errors"] == 0


def test_gso_is_never_used_on_a_unix_socket() -> None:
    # AF_UNIX ignores a SOL_UDP cmsg: a run would arrive as one datagram.
    x, y = unix_pair()
    try:
        q = udp.SendQueue(16)
        data = burst([100] * 10)
        for d in data:
            assert q.queue(d, None)
        assert q.flush(x.fileno()) == (10, 0)
        assert drain(y, 10) == data
        assert q.stats()["gso_sends"] == 0 and q.stats()["gso_disabled"] == 0
    finally:
        x.close()
        y.close()


@needs_gso
def test_gso_to_ipv6() -> None:
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    a, b = udp_socket(socket.AF_INET6, "::1"), udp_socket(socket.AF_INET6, "::1")
    try:
        q = udp.SendQueue(64, family=socket.AF_INET6)
        data = burst([1200] * 40 + [7])
        for d in data:
            assert q.queue(d, a.getsockname()[:2])
        assert q.flush(b.fileno()) == (41, 0)
        assert drain(a, 41) == data
        assert q.stats()["gso_segments"] == 41
    finally:
        a.close()
        b.close()
