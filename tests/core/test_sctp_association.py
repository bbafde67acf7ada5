"""SCTP association (sans-IO) driven through the virtual-time network simulator:
handshake (drops, collision), reliable transfer under loss, PR-SCTP, unordered,
fragmentation, limits, windows, stream reset, shutdown/abort, bad packets, fuzz."""

from __future__ import annotations

import math
import os
import random
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcengine._core import crc, sctp
from rtcengine._core.sctp_association import (
    EVENT_BUFFERED_LOW,
    EVENT_CLOSED,
    EVENT_CONNECTED,
    EVENT_DATA,
    EVENT_RESET_DONE,
    EVENT_STREAM_RESET,
    Association,
)
from rtcengine.exceptions import InvalidStateError
from tests.netsim import Network, has_chunk, has_tsn

MiB = 1 << 20


def pair(**kw: Any) -> tuple[Association, Association]:
    a = Association(5000, 5000, True, **kw)
    b = Association(5000, 5000, False, **kw)
    a.remote_max_message_size = b.remote_max_message_size = 262144
    return a, b


def connected(seed: int = 1, assoc: dict[str, Any] | None = None,
              **link: Any) -> tuple[Association, Association, Network]:
    a, b = pair(**(assoc or {}))
    net = Network(a, b, seed=seed, **link)
    a.connect(net.now)
    assert net.run(lambda: a.is_established and b.is_established, max_time=120)
    return a, b, net


def received(side: Any, sid: int | None = None) -> list[bytes]:
    return [e[3] for e in side.events if e[0] == EVENT_DATA and (sid is None or e[1] == sid)]


def kinds(side: Any) -> list[int]:
    return [e[0] for e in side.events]


def raw_packet(vtag: int, *chunks: sctp.Chunk, src: int = 5000, dst: int = 5000) -> bytes:
    return sctp.Packet(src, dst, vtag, list(chunks)).marshal()


# ------------------------------------------------------------------ handshake


def test_handshake_four_way() -> None:
    a, b, net = connected()
    assert a.state == b.state == "ESTABLISHED"
    assert a.peer_tag == b.local_tag and b.peer_tag == a.local_tag
    assert a.local_tag != 0 and b.local_tag != 0
    assert kinds(net.a) == [EVENT_CONNECTED] and kinds(net.b) == [EVENT_CONNECTED]
    assert a.forward_tsn_supported and a.reconfig_supported
    # INIT, COOKIE ECHO from a; INIT ACK, COOKIE ACK from b.
    assert net.a.link.sent == 2 and net.b.link.sent == 2


@pytest.mark.parametrize("direction,chunk", [
    ("a", sctp.CHUNK_INIT),
    ("b", sctp.CHUNK_INIT_ACK),
    ("a", sctp.CHUNK_COOKIE_ECHO),
    ("b", sctp.CHUNK_COOKIE_ACK),
], ids=["drop INIT", "drop INIT ACK", "drop COOKIE ECHO", "drop COOKIE ACK"])
def test_handshake_survives_a_lost_packet(direction: str, chunk: int) -> None:
    a, b = pair()
    net = Network(a, b, seed=2)
    rule = getattr(net, direction).link.drop(has_chunk(chunk), count=1)
    a.connect(0.0)
    assert net.run(lambda: a.is_established and b.is_established, max_time=30)
    assert rule.dropped == 1
    assert net.now >= 1.0  # one T1 expiry (RTO.Initial = 1 s)
    a.send(1, 53, b"after")
    assert net.run(lambda: received(net.b) == [b"after"], max_time=30)


def test_handshake_gives_up_after_max_init_retransmits() -> None:
    a, b = pair()
    net = Network(a, b, seed=2)
    net.a.link.drop(has_chunk(sctp.CHUNK_INIT), count=-1)
    a.connect(0.0)
    net.run(max_time=1000)
    assert a.state == "CLOSED"
    assert net.a.events[-1][0] == EVENT_CLOSED
    assert "Max.Init.Retransmits" in net.a.events[-1][1]
    assert b.state == "CLOSED"


def test_init_collision() -> None:
    a, b = pair()
    net = Network(a, b, seed=4)
    a.connect(0.0)
    b.connect(0.0)
    assert net.run(lambda: a.is_established and b.is_established, max_time=30)
    assert a.peer_tag == b.local_tag and b.peer_tag == a.local_tag
    assert kinds(net.a).count(EVENT_CONNECTED) == 1
    assert kinds(net.b).count(EVENT_CONNECTED) == 1
    a.send(0, 51, b"x" * 3000)
    b.send(1, 51, b"y" * 3000)
    assert net.run(lambda: received(net.a) == [b"y" * 3000] and received(net.b) == [b"x" * 3000])


def test_init_collision_with_lost_init_ack() -> None:
    a, b = pair()
    net = Network(a, b, seed=5, delay=0.05)
    net.b.link.drop(has_chunk(sctp.CHUNK_INIT_ACK), count=1)
    a.connect(0.0)
    b.connect(0.01)
    assert net.run(lambda: a.is_established and b.is_established, max_time=60)
    assert a.peer_tag == b.local_tag and b.peer_tag == a.local_tag


def test_connect_twice_is_an_error() -> None:
    a, _ = pair()
    a.connect(0.0)
    with pytest.raises(InvalidStateError):
        a.connect(0.0)


def test_forged_cookie_is_dropped() -> None:
    a, b = pair()
    b.handle_packet(raw_packet(0x1234, sctp.CookieEchoChunk(cookie=b"\0" * 72)), 0.0)
    assert b.state == "CLOSED"
    assert b.stats["dropped"]["bad_cookie"] == 1
    assert b.poll_transmit() is None


def test_stale_cookie_is_refused() -> None:
    a, b = pair()
    a.connect(0.0)
    init = a.poll_transmit()
    assert init is not None
    b.handle_packet(init, 0.0)
    init_ack = b.poll_transmit()
    assert init_ack is not None
    a.handle_packet(init_ack, 0.0)
    cookie_echo = a.poll_transmit()
    assert cookie_echo is not None
    b.handle_packet(cookie_echo, 120.0)  # Valid.Cookie.Life is 60 s
    assert b.state == "CLOSED"
    assert b.stats["dropped"]["bad_cookie"] == 1
    err = b.poll_transmit()
    assert err is not None and sctp.CHUNK_ERROR in [c.type for c in sctp.Packet.parse(err).chunks]


# ------------------------------------------------------------------ reliable transfer


def _messages(rng: random.Random, count: int) -> list[bytes]:
    sizes = [1, 2, 100, 1000, 1172, 1173, 3000, 20000, 65536]
    return [rng.randbytes(rng.choice(sizes)) for _ in range(count)]


@pytest.mark.parametrize("loss", [0.0, 0.01, 0.05, 0.10, 0.20])
def test_reliable_ordered_delivers_everything_under_loss(loss: float) -> None:
    a, b, net = connected(seed=11, loss=loss, delay=0.02, jitter=0.004)
    rng = random.Random(loss)
    msgs = _messages(rng, 150)
    for i, m in enumerate(msgs):
        a.send(i % 3, 53, m)
    expect = {sid: [m for i, m in enumerate(msgs) if i % 3 == sid] for sid in range(3)}
    assert net.run(lambda: len(received(net.b)) == len(msgs), max_time=3000)
    for sid in range(3):
        assert received(net.b, sid) == expect[sid]
    # Nothing left: every chunk acked, the queues are empty.
    net.run_for(5.0)
    assert a.stats["outstanding_chunks"] == 0 and a.stats["queued_bytes"] == 0
    assert b.stats["messages_received"] == len(msgs)
    if loss >= 0.05:
        assert a.stats["retransmits"] > 0
        assert a.stats["fast_retransmits"] > 0


def test_bidirectional_transfer_with_sack_bundled_into_data() -> None:
    a, b, net = connected(seed=3, loss=0.02, delay=0.01)
    rng = random.Random(3)
    ma = _messages(rng, 80)
    mb = _messages(rng, 80)
    for m in ma:
        a.send(2, 53, m)
    for m in mb:
        b.send(3, 53, m)
    assert net.run(lambda: received(net.b) == ma and received(net.a) == mb, max_time=600)
    # Both sides sent DATA: SACKs rode along in DATA packets.
    assert a.stats["sacks_sent"] > 0 and b.stats["sacks_sent"] > 0


def test_duplicated_packets_deliver_once() -> None:
    a, b, net = connected(seed=8, duplicate=0.3, delay=0.01)
    msgs = [bytes([i]) * (i * 50 + 1) for i in range(100)]
    for m in msgs:
        a.send(0, 53, m)
    assert net.run(lambda: len(received(net.b)) >= len(msgs), max_time=100)
    net.run_for(2.0)
    assert received(net.b) == msgs
    assert b.stats["duplicates_received"] > 0


def test_tsn_wraps_around() -> None:
    a, b, net = connected(seed=9, assoc={"initial_tsn": 0xFFFFFFF0}, loss=0.05)
    msgs = [os.urandom(3000) for _ in range(30)]
    for m in msgs:
        a.send(0, 53, m)
        b.send(0, 53, m)
    assert net.run(lambda: received(net.b) == msgs and received(net.a) == msgs, max_time=600)


def test_fragmentation_of_256_kib_messages() -> None:
    a, b, net = connected(seed=12, loss=0.01)
    msgs = [os.urandom(262144) for _ in range(3)]
    for m in msgs:
        a.send(7, 53, m)
    assert net.run(lambda: len(received(net.b)) == 3, max_time=600)
    assert received(net.b) == msgs
    assert a.stats["data_chunks_sent"] >= 3 * (262144 // 1172)


def test_rate_limited_link_delivers() -> None:
    # 1 Mbit/s bottleneck: the sender is paced by acks, nothing lost.
    a, b, net = connected(seed=13, rate=125_000, delay=0.02)
    data = os.urandom(200_000)
    a.send(1, 53, data)
    assert net.run(lambda: received(net.b) == [data], max_time=60)
    assert net.now >= 200_000 / 125_000


# ------------------------------------------------------------------ limits


def test_max_message_size_is_enforced_on_send() -> None:
    a, _b, _net = connected()
    a.remote_max_message_size = 1000
    a.send(0, 53, b"x" * 1000)
    with pytest.raises(ValueError, match="exceeds the remote max-message-size of 1000"):
        a.send(0, 53, b"x" * 1001)


def test_default_remote_max_message_size_is_64_kib() -> None:
    a = Association()
    assert a.remote_max_message_size == 65536
    with pytest.raises(ValueError, match="max-message-size"):
        a.send(0, 53, b"x" * 65537)


def test_message_over_our_max_message_size_is_dropped() -> None:
    # The peer ignores our limit: the message is dropped, later ones flow.
    a2, b2 = pair(max_message_size=10000)
    net = Network(a2, b2, seed=1)
    a2.remote_max_message_size = 262144
    a2.connect(0.0)
    big, small = os.urandom(20000), b"after"
    a2.send(0, 53, big)
    a2.send(0, 53, small)
    assert net.run(lambda: received(net.b) == [small], max_time=60)
    assert b2.stats["dropped"]["too_big"] == 1
    assert b2.state == "ESTABLISHED"


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
@pytest.mark.parametrize("loss", [0.0, 0.05], ids=["clean", "lossy"])
def test_message_over_max_message_size_and_rwnd_is_dropped_early(
        ordered: bool, loss: float) -> None:
    # RFC 8841 / RFC 8831 §6.6: a message larger than our max_message_size
    # (8000) and than our whole receive window (16 KiB) is dropped as soon
    # as its fragments pass the limit, not kept until its E fragment (it
    # would fill the window for good and stall every stream).  Small
    # messages on stream 1 interleaved with it and later ones on its own
    # stream are all delivered, in order; the window reopens.
    mms, rwnd = 8000, 16384
    a, b, net = connected(seed=5, assoc={"max_message_size": mms, "rwnd": rwnd},
                          loss=loss, delay=0.01)
    a.remote_max_message_size = 1 << 20
    before, small = [b"s0-%d" % i for i in range(3)], [b"s1-%d" % i for i in range(40)]
    after = [b"after-%d" % i for i in range(20)]
    for m in before:
        a.send(0, 53, m, ordered=ordered)
    a.send(0, 53, os.urandom(200_000), ordered=ordered)
    peak = 0

    def done() -> bool:
        nonlocal peak
        peak = max(peak, b.stats["rx_buffered"])
        return (received(net.b, 1) == small and len(received(net.b, 0)) == len(before + after)
                and not a.stats["flight_size"] and not a.stats["queued_bytes"])

    for i, m in enumerate(small):
        a.send(1, 51, m)
        if i == 20:
            for m2 in after:
                a.send(0, 53, m2, ordered=ordered)
        net.run_for(0.005)
    assert net.run(done, max_time=120)
    net.run_for(1.0)
    st = b.stats
    assert st["dropped"]["too_big"] == 1
    got = received(net.b, 0)
    assert got == before + after if ordered else sorted(got) == sorted(before + after)
    assert received(net.b, 1) == small
    # Never more than the limit and a packet held; with loss, fragments past
    # a hole wait (window-bounded, RFC 9260 §6.2) until it is filled.
    assert peak <= (mms + 2 * 1500 if not loss else 2 * rwnd), peak
    assert st["rx_buffered"] == 0 and st["rwnd"] == rwnd
    assert a.stats["peer_rwnd"] == rwnd       # the window update reached the sender
    assert a.state == b.state == "ESTABLISHED"
    # The association keeps working both ways.
    b.send(2, 53, b"reply")
    assert net.run(lambda: received(net.a, 2) == [b"reply"], max_time=30)


def test_single_chunk_message_over_max_message_size_is_dropped() -> None:
    # A message in one DATA chunk (B and E) over the limit is dropped too.
    a, b, net = connected(assoc={"max_message_size": 100})
    a.remote_max_message_size = 1 << 20
    a.send(0, 53, b"x" * 101)
    a.send(0, 53, b"ok")
    assert net.run(lambda: received(net.b) == [b"ok"], max_time=30)
    assert b.stats["dropped"]["too_big"] == 1


def test_empty_message_is_refused() -> None:
    a, _b, _net = connected()
    with pytest.raises(ValueError, match="PPID 56/57"):
        a.send(0, 53, b"")


def test_slow_reader_closes_the_window_and_memory_stays_bounded() -> None:
    rwnd = 256 * 1024
    a, b, net = connected(seed=14, assoc={"rwnd": rwnd}, delay=0.01)
    net.b.drain = False  # the application does not read
    total = 8 * MiB
    chunk = os.urandom(65536)
    for _ in range(total // len(chunk)):
        a.send(0, 53, chunk)
    net.run_for(30.0)
    st = b.stats
    # b holds at most its window (+ one chunk), a still holds the rest.
    assert st["rx_buffered"] <= rwnd + 2048
    assert st["rwnd"] == 0 or st["rwnd"] < 2048
    assert a.stats["queued_bytes"] > total // 2
    assert a.stats["peer_rwnd"] < 2048
    # The reader wakes up: everything arrives, in order.
    net.b.drain = True
    assert net.run(lambda: len(received(net.b)) == total // len(chunk), max_time=600)
    assert all(m == chunk for m in received(net.b))


def test_zero_window_probe_recovers_from_a_lost_window_update() -> None:
    rwnd = 64 * 1024
    a, b, net = connected(seed=15, assoc={"rwnd": rwnd})
    net.b.drain = False
    for _ in range(40):
        a.send(0, 53, b"z" * 8192)
    net.run_for(5.0)
    assert a.stats["queued_bytes"] > 0
    # Drop b's next SACK (the window update); the probe recovers.
    net.b.link.drop(has_chunk(sctp.CHUNK_SACK), count=1)
    net.b.drain = True
    assert net.run(lambda: len(received(net.b)) == 40, max_time=600)


def _small(i: int) -> bytes:
    return i.to_bytes(4, "big") * 25  # 100 bytes, numbered


def test_ordered_ssn_does_not_wrap_behind_a_hole() -> None:
    # 16-bit SSNs: behind one lost chunk, a 4 MiB window holds ~36000
    # 100-byte messages, and an SSN 2^15 or more past the expected one read
    # as already delivered: it was dropped (its TSN acked), and the stream
    # then waited for it forever (the e2e bench stalled with a full window
    # of 100-byte messages undelivered).  DATA more than 2^15 TSNs past the
    # cumulative TSN is now dropped unacked, for the sender to retransmit.
    a, b, net = connected(seed=90)
    a.send(0, 53, _small(0))
    pkt = a.poll_transmit(net.now)
    assert pkt is not None
    t0 = [c for c in sctp.Packet.parse(pkt).chunks if isinstance(c, sctp.DataChunk)][0].tsn
    b.handle_packet(pkt, net.now)
    n = 40001
    got: list[bytes] = []

    def data(i: int) -> sctp.DataChunk:
        return sctp.DataChunk(
            flags=3,
            tsn=(t0 + i) & 0xFFFFFFFF,
            stream_id=0,
            stream_seq=i & 0xFFFF,
            protocol=53,
            user_data=_small(i),
        )

    def send(first: int, last: int) -> int:
        # TSNs first..last, 10 per packet, as a sender would; returns b's cum TSN.
        cum = t0
        for i in range(first, last + 1, 10):
            chunks = [data(j) for j in range(i, min(i + 10, last + 1))]
            b.handle_packet(raw_packet(b.local_tag, *chunks), net.now)
            got.extend(e[3] for e in b.poll_events() if e[0] == EVENT_DATA)  # the app reads
            cum = _sack_in(b.poll_transmit(net.now)).cumulative_tsn
        return cum

    assert send(2, n - 1) == t0  # TSN t0 + 1 (SSN 1) lost
    assert b.stats["rwnd"] > 0  # the window is not what stops it
    cum = send(1, 1)
    # Accepted up to 2^15 past the old cumulative TSN; the rest dropped.
    assert (cum - t0) & 0xFFFFFFFF == 32768
    assert b.stats["dropped"]["rwnd"] == (n - 2) - (32768 - 1)
    # The sender retransmits what was not acked.
    cum = send((cum - t0 + 1) & 0xFFFFFFFF, n - 1)
    assert (cum - t0) & 0xFFFFFFFF == n - 1
    assert got == [_small(i) for i in range(n)]
    assert b.stats["messages_received"] == n and b.stats["rx_buffered"] == 0
    assert b.stats["dropped"]["bad_ssn"] == 0


def test_stale_ssn_is_dropped_and_counted() -> None:
    # RFC 9260 §6.6: a stream's SSNs are delivered in order, so a new TSN
    # carrying an SSN already delivered (or already waiting) is a protocol
    # error: dropped, and counted, never silently.
    a, b, net = connected(seed=91)
    a.send(0, 53, _small(0))
    pkt = a.poll_transmit(net.now)
    assert pkt is not None
    t0 = [c for c in sctp.Packet.parse(pkt).chunks if isinstance(c, sctp.DataChunk)][0].tsn
    b.handle_packet(pkt, net.now)

    def data(tsn_offset: int, ssn: int) -> sctp.DataChunk:
        return sctp.DataChunk(flags=3, tsn=(t0 + tsn_offset) & 0xFFFFFFFF, stream_id=0,
                              stream_seq=ssn, protocol=53, user_data=_small(tsn_offset))

    b.handle_packet(raw_packet(b.local_tag, data(1, 0)), net.now)  # SSN 0 again
    b.handle_packet(raw_packet(b.local_tag, data(2, 5), data(3, 5)), net.now)  # 5 waits twice
    delivered = [e[3] for e in b.poll_events() if e[0] == EVENT_DATA]
    assert delivered == [_small(0)]
    assert b.stats["dropped"]["bad_ssn"] == 2


def test_hole_behind_a_full_window_of_small_ordered_messages() -> None:
    # The same end to end: a warm sender (cwnd past the 4 MiB window) loses
    # one chunk and its fast retransmission; T3-rtx repairs it a second
    # later, after a window of 100-byte messages went past it.
    a, b, net = connected(seed=91, delay=0.001)
    for _ in range(100_000):
        a.send(0, 53, b"w" * 100)
    assert net.run(lambda: b.stats["messages_received"] == 100_000, max_time=60)
    assert a.stats["cwnd"] > 4 * MiB
    net.a.link.drop(has_tsn(_peer_next_tsn(a) + 5), count=2)
    n = 50_000
    for i in range(n):
        a.send(0, 53, _small(i))
    assert net.run(lambda: b.stats["messages_received"] == 100_000 + 1 + n, max_time=60)
    assert received(net.b)[100_001:] == [_small(i) for i in range(n)]
    assert a.stats["t3_expiries"] >= 1 and b.stats["dropped"]["rwnd"] > 0


# ------------------------------------------------------------------ PR-SCTP, unordered


def test_unordered_messages_arrive_out_of_order_when_reordered() -> None:
    a, b, net = connected(seed=21, delay=0.01, jitter=0.02, reorder=0.3)
    msgs = [struct.pack("!I", i) * 10 for i in range(200)]
    for m in msgs:
        a.send(1, 53, m, ordered=False)
    assert net.run(lambda: len(received(net.b)) == len(msgs), max_time=120)
    got = received(net.b)
    assert sorted(got) == sorted(msgs)
    assert got != msgs


def test_ordered_messages_stay_ordered_when_reordered() -> None:
    a, b, net = connected(seed=21, delay=0.01, jitter=0.02, reorder=0.3)
    msgs = [struct.pack("!I", i) * 10 for i in range(200)]
    for m in msgs:
        a.send(1, 53, m)
    assert net.run(lambda: len(received(net.b)) == len(msgs), max_time=120)
    assert received(net.b) == msgs


@pytest.mark.parametrize("ordered", [True, False])
def test_max_retransmits_zero_loses_some_and_never_blocks(ordered: bool) -> None:
    a, b, net = connected(seed=22, loss=0.2, delay=0.02)
    msgs = [struct.pack("!I", i) + b"." * 200 for i in range(300)]
    for m in msgs:
        a.send(1, 53, m, ordered=ordered, max_retransmits=0)
    net.run_for(60.0)
    got = received(net.b, 1)
    assert 0 < len(got) < len(msgs)
    assert set(got) <= set(msgs)
    if ordered:
        assert got == sorted(got)
    assert a.stats["abandoned"] > 0 and a.stats["forward_tsn_sent"] > 0
    # The association did not stall: everything is acked or skipped, and a
    # later reliable message gets through.
    assert a.stats["outstanding_chunks"] == 0
    a.send(1, 53, b"reliable")
    assert net.run(lambda: received(net.b, 1)[-1:] == [b"reliable"], max_time=120)


def test_max_retransmits_fragmented_messages_skip_whole() -> None:
    a, b, net = connected(seed=23, loss=0.1, delay=0.02)
    msgs = [bytes([i]) * 5000 for i in range(60)]
    for m in msgs:
        a.send(1, 53, m, max_retransmits=1)
    net.run_for(60.0)
    got = received(net.b, 1)
    # Whatever arrived is whole and in order; a stall never happens.
    assert all(m in msgs for m in got)
    assert got == sorted(got, key=msgs.index)
    assert a.stats["outstanding_chunks"] == 0
    assert b.stats["rx_buffered"] == 0


def test_max_packet_lifetime_expires() -> None:
    a, b, net = connected(seed=24, delay=0.02)
    # Every DATA packet is lost for the first second.
    rule = net.a.link.drop(has_chunk(sctp.CHUNK_DATA), count=-1)
    a.send(1, 53, b"late", max_packet_lifetime_ms=300, now=net.now)
    net.run_for(1.0)
    rule.count = 0
    a.send(1, 53, b"fresh", max_packet_lifetime_ms=300, now=net.now)
    assert net.run(lambda: received(net.b, 1) == [b"fresh"], max_time=60)
    assert a.stats["abandoned"] >= 1


def test_lifetime_expired_before_first_send_is_dropped() -> None:
    a, b, net = connected(seed=25, assoc={"rwnd": MiB})
    net.b.drain = False
    # Fill the window; the short-lived message waits behind the fillers in
    # its stream's queue (a stream sends its messages in order).
    for _ in range(20):
        a.send(0, 53, b"w" * 60000)
    a.send(0, 53, b"short-lived", max_packet_lifetime_ms=100, now=net.now)
    net.run_for(3.0)
    assert a.stats["queued_bytes"] > 0
    net.b.drain = True
    a.send(0, 53, b"next", now=net.now)
    assert net.run(lambda: b"next" in received(net.b, 0), max_time=120)
    assert received(net.b, 0) == [b"w" * 60000] * 20 + [b"next"]
    assert a.stats["abandoned"] == 1


def test_drop_data_with_tsn() -> None:
    a, b, net = connected(seed=26)
    tsn0 = sctp.Packet.parse
    a.send(0, 53, b"first")
    first = a.poll_transmit(net.now)
    assert first is not None
    tsn = [c for c in tsn0(first).chunks if isinstance(c, sctp.DataChunk)][0].tsn
    net.a.link.drop(has_tsn(tsn + 1), count=1)
    b.handle_packet(first, net.now)
    for i in range(5):
        a.send(0, 53, bytes([i]) * 10)
    assert net.run(lambda: len(received(net.b)) == 6, max_time=60)
    assert received(net.b)[1:] == [bytes([i]) * 10 for i in range(5)]
    assert a.stats["retransmits"] >= 1


# ------------------------------------------------------------------ scheduling, buffered amount


def test_round_robin_between_streams() -> None:
    a, b, net = connected(seed=31, delay=0.01)
    for _ in range(30):
        a.send(1, 53, b"B" * 65536)
    a.send(2, 53, b"small")
    net.run(lambda: b"small" in received(net.b), max_time=60)
    # The small message on stream 2 overtook most of stream 1's backlog.
    assert len(received(net.b, 1)) < 5


def test_buffered_amount_and_low_event() -> None:
    a, b, net = connected(seed=32)
    a.set_buffered_amount_low_threshold(4, 1000)
    a.send(4, 53, b"x" * 50000)
    a.send(4, 56, b"\0")  # empty string: counts 0 (RFC 8831 §6.6)
    assert a.buffered_amount(4) == 50000
    assert a.buffered_amount(5) == 0
    assert net.run(lambda: received(net.b, 4) == [b"x" * 50000, b"\0"], max_time=60)
    assert a.buffered_amount(4) == 0
    lows = [e for e in net.a.events if e[0] == EVENT_BUFFERED_LOW]
    assert lows == [(EVENT_BUFFERED_LOW, 4)]


# ------------------------------------------------------------------ stream reset


def test_stream_reset_both_directions_and_reuse() -> None:
    a, b, net = connected(seed=41)
    a.send(3, 51, b"one")
    a.send(3, 51, b"two")
    a.reset_streams([3])
    assert net.run(lambda: any(e[0] == EVENT_RESET_DONE for e in net.a.events), max_time=30)
    assert received(net.b, 3) == [b"one", b"two"]
    resets = [e for e in net.b.events if e[0] == EVENT_STREAM_RESET]
    assert resets == [(EVENT_STREAM_RESET, [3])]
    # The reverse direction.
    b.reset_streams([3])
    assert net.run(lambda: any(e[0] == EVENT_RESET_DONE for e in net.b.events), max_time=30)
    assert [e for e in net.a.events if e[0] == EVENT_STREAM_RESET] == [(EVENT_STREAM_RESET, [3])]
    # SSNs restart at 0 on both ends: the stream id is reusable.
    a.send(3, 51, b"again")
    assert net.run(lambda: received(net.b, 3)[-1:] == [b"again"], max_time=30)


def test_stream_reset_waits_for_lost_data() -> None:
    a, b, net = connected(seed=42, delay=0.02)
    tsn_rule = net.a.link.drop(has_chunk(sctp.CHUNK_DATA), count=1)
    a.send(5, 53, b"must arrive first")
    a.reset_streams([5])
    with pytest.raises(InvalidStateError):
        a.send(5, 53, b"refused while resetting")
    assert net.run(lambda: any(e[0] == EVENT_RESET_DONE for e in net.a.events), max_time=60)
    assert tsn_rule.dropped == 1
    evs = [e for e in net.b.events if e[0] in (EVENT_DATA, EVENT_STREAM_RESET)]
    assert evs[0] == (EVENT_DATA, 5, 53, b"must arrive first")
    assert evs[1] == (EVENT_STREAM_RESET, [5])


def test_reset_request_lost_is_retransmitted() -> None:
    a, b, net = connected(seed=43)
    net.a.link.drop(has_chunk(sctp.CHUNK_RE_CONFIG), count=1)
    a.reset_streams([9])
    assert net.run(lambda: any(e[0] == EVENT_RESET_DONE for e in net.a.events), max_time=60)
    assert [e for e in net.b.events if e[0] == EVENT_STREAM_RESET] == [(EVENT_STREAM_RESET, [9])]


def test_thousand_streams_open_send_reset_reuse() -> None:
    a, b, net = connected(seed=44, delay=0.005)

    def all_reset(n: int) -> bool:
        na = sum(len(e[1]) for e in net.a.events if e[0] == EVENT_RESET_DONE)
        nb = sum(len(e[1]) for e in net.b.events if e[0] == EVENT_RESET_DONE)
        return na == nb == n

    for rnd in range(2):
        for sid in range(1000):
            a.send(sid, 51, b"%d:%d" % (rnd, sid))
        n = 1000 * (rnd + 1)
        assert net.run(lambda n=n: len(received(net.b)) == n, max_time=120)  # type: ignore[misc]
        a.reset_streams(range(1000))
        b.reset_streams(range(1000))
        assert net.run(lambda n=n: all_reset(n), max_time=300)  # type: ignore[misc]
    assert received(net.b)[1000:1003] == [b"1:0", b"1:1", b"1:2"]


# ------------------------------------------------------------------ shutdown, abort


@pytest.mark.parametrize("who", ["a", "b"])
def test_graceful_shutdown_after_pending_data(who: str) -> None:
    a, b, net = connected(seed=51, loss=0.05)
    closer = a if who == "a" else b
    other = b if who == "a" else a
    side = net.b if who == "a" else net.a
    msgs = [os.urandom(10000) for _ in range(20)]
    for m in msgs:
        closer.send(0, 53, m)
    closer.shutdown(net.now)
    with pytest.raises(InvalidStateError):
        closer.send(0, 53, b"late")
    assert net.run(lambda: closer.state == other.state == "CLOSED", max_time=600)
    assert received(side) == msgs
    assert net.a.events[-1] == (EVENT_CLOSED, None)
    assert net.b.events[-1] == (EVENT_CLOSED, None)


def test_shutdown_both_at_once() -> None:
    a, b, net = connected(seed=52)
    a.shutdown(net.now)
    b.shutdown(net.now)
    assert net.run(lambda: a.state == b.state == "CLOSED", max_time=60)


def test_abort() -> None:
    a, b, net = connected(seed=53)
    a.send(0, 53, b"x" * 100000)
    a.abort("bye")
    net.settle()
    assert a.state == "CLOSED"
    assert net.run(lambda: b.state == "CLOSED", max_time=10)
    assert net.b.events[-1][0] == EVENT_CLOSED
    assert "User-Initiated Abort" in net.b.events[-1][1]
    with pytest.raises(InvalidStateError):
        a.send(0, 53, b"x")


def test_peer_unreachable_closes() -> None:
    a, b, net = connected(seed=54)
    net.a.link.loss = 1.0
    a.send(0, 53, b"into the void")
    net.run(max_time=10000)
    assert a.state == "CLOSED"
    assert "unreachable" in (a.close_reason or "")


# ------------------------------------------------------------------ bad packets


def test_bad_crc_and_vtag_are_dropped_with_no_state_change() -> None:
    a, b, net = connected(seed=61)
    before = b.stats
    good = raw_packet(b.local_tag, sctp.DataChunk(3, 12345, 0, 0, 53, b"x"))
    bad_crc = good[:8] + bytes(4) + good[12:]
    b.handle_packet(bad_crc, net.now)
    bad_vtag = raw_packet(b.local_tag ^ 1, sctp.DataChunk(3, 12345, 0, 0, 53, b"x"))
    b.handle_packet(bad_vtag, net.now)
    abort_bad = raw_packet(b.local_tag ^ 1, sctp.AbortChunk())
    b.handle_packet(abort_bad, net.now)
    wrong_port = raw_packet(b.local_tag, sctp.AbortChunk(), src=5001)
    b.handle_packet(wrong_port, net.now)
    b.handle_packet(b"\x13\x88" * 3, net.now)
    after = b.stats
    assert after["dropped"]["bad_crc"] == before["dropped"]["bad_crc"] + 1
    assert after["dropped"]["bad_vtag"] == before["dropped"]["bad_vtag"] + 2
    assert after["dropped"]["bad_port"] == 1
    assert after["dropped"]["malformed"] == before["dropped"]["malformed"] + 1
    assert b.state == "ESTABLISHED"
    assert b.poll_transmit() is None
    for key in ("messages_received", "data_chunks_received", "rx_buffered"):
        assert after[key] == before[key]


def test_init_with_nonzero_vtag_is_dropped() -> None:
    _a, b = pair()
    b.handle_packet(raw_packet(7, sctp.InitChunk(0, 99, 65536, 10, 10, 1)), 0.0)
    assert b.stats["dropped"]["bad_vtag"] == 1
    assert b.poll_transmit() is None


def _random_chunk(draw: Any, tag_tsn: int) -> sctp.Chunk:
    kind = draw(st.integers(0, 11))
    u32 = st.integers(0, 0xFFFFFFFF)
    near = st.integers(tag_tsn - 5, tag_tsn + 70000).map(lambda x: x & 0xFFFFFFFF)
    if kind == 0:
        return sctp.DataChunk(draw(st.integers(0, 15)), draw(near), draw(st.integers(0, 65535)),
                              draw(st.integers(0, 65535)), draw(u32),
                              draw(st.binary(min_size=1, max_size=300)))
    if kind == 1:
        gaps = draw(st.lists(st.tuples(st.integers(0, 65535), st.integers(0, 65535)), max_size=8))
        return sctp.SackChunk(0, draw(u32), draw(u32), gaps,
                              draw(st.lists(u32, max_size=4)))
    if kind == 2:
        return sctp.ForwardTsnChunk(0, draw(near), draw(st.lists(
            st.tuples(st.integers(0, 65535), st.integers(0, 65535)), max_size=6)))
    if kind == 3:
        req = sctp.OutgoingSsnResetRequest(draw(u32), draw(u32), draw(near),
                                           draw(st.lists(st.integers(0, 65535), max_size=5)))
        return sctp.ReconfigChunk(0, [req.to_param()])
    if kind == 4:
        return sctp.ShutdownChunk(0, draw(u32))
    if kind == 5:
        return sctp.HeartbeatChunk(0, [(1, draw(st.binary(max_size=40)))])
    if kind == 6:
        return sctp.CookieEchoChunk(0, draw(st.binary(max_size=80)))
    if kind == 7:
        return sctp.InitAckChunk(0, draw(u32), draw(u32), 10, 10, draw(u32))
    if kind == 8:
        return sctp.UnknownChunk(draw(st.integers(0, 255)), draw(st.integers(0, 255)),
                                 draw(st.binary(max_size=30)))
    if kind == 9:
        return sctp.ReconfigChunk(0, [sctp.ReconfigResponse(draw(u32), draw(
            st.integers(0, 7))).to_param()])
    if kind == 10:
        return sctp.ErrorChunk(0, [(draw(st.integers(0, 20)), draw(st.binary(max_size=8)))])
    return sctp.ShutdownAckChunk()


@st.composite
def _packets(draw: Any, vtag: int, tsn: int) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        garbage: bytes = draw(st.binary(min_size=12, max_size=200))
        # Garbage with a valid CRC so it reaches the chunk walker.
        body = garbage[:8] + b"\0\0\0\0" + garbage[12:]
        return body[:8] + struct.pack("<I", crc.crc32c(body)) + body[12:]
    chunks = [_random_chunk(draw, tsn) for _ in range(draw(st.integers(1, 4)))]
    tag = vtag if draw(st.integers(0, 7)) else draw(st.integers(0, 0xFFFFFFFF))
    packet: bytes = raw_packet(tag, *chunks)
    return packet


def _fuzz_target() -> tuple[Association, Association, Network]:
    a, b, net = connected(seed=71, assoc={"initial_tsn": 1000})
    a.send(0, 53, b"x" * 5000)
    net.run_for(1.0)
    return a, b, net


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_random_chunk_sequences(data: Any) -> None:
    a, b, net = _fuzz_target()
    peer_next_tsn = _peer_next_tsn(a)
    now = net.now
    for _ in range(data.draw(st.integers(1, 12))):
        pkt = data.draw(_packets(b.local_tag, peer_next_tsn))
        now += data.draw(st.floats(0, 2))
        b.handle_packet(pkt, now)
        if data.draw(st.booleans()):
            b.handle_timeout(now)
        while b.poll_transmit(now) is not None:
            pass
        while b.poll_event() is not None:
            pass
    s = b.stats
    assert s["rx_span"] <= 65536
    assert s["rx_buffered"] <= 2 * b.local_rwnd + 70000
    assert s["outstanding_chunks"] <= 65536


def _peer_next_tsn(a: Association) -> int:
    a.send(0, 53, b"probe")
    pkt = a.poll_transmit()
    assert pkt is not None
    return [c for c in sctp.Packet.parse(pkt).chunks if isinstance(c, sctp.DataChunk)][0].tsn + 1


def _sack_in(pkt: bytes | None) -> sctp.SackChunk:
    assert pkt is not None
    sacks = [c for c in sctp.Packet.parse(pkt).chunks if isinstance(c, sctp.SackChunk)]
    assert len(sacks) == 1
    return sacks[0]


def test_sack_at_the_end_of_every_burst() -> None:
    a, b, net = connected(seed=81, delay=0.01)
    a.send(0, 53, b"one")
    pkt = a.poll_transmit(net.now)
    assert pkt is not None
    b.handle_packet(pkt, net.now)
    # One DATA packet is a burst: the next poll carries its SACK, no waiting.
    assert _sack_in(b.poll_transmit(net.now)).cumulative_tsn == _peer_next_tsn(a) - 2
    assert b.poll_transmit(net.now) is None and b.next_deadline() is None


def test_delayed_sack_timer_is_the_fallback_for_a_driver_that_polls_late() -> None:
    a, b, net = connected(seed=81, delay=0.01)
    a.send(0, 53, b"one")
    pkt = a.poll_transmit(net.now)
    assert pkt is not None
    b.handle_packet(pkt, net.now)
    # The driver did not poll: the deadline says when the SACK is due.
    deadline = b.next_deadline()
    assert deadline is not None and abs(deadline - (net.now + b.delayed_sack_time)) < 1e-9
    b.handle_timeout(deadline)
    sack = b.poll_transmit(deadline)
    assert sack is not None and [c.type for c in sctp.Packet.parse(sack).chunks] == [
        sctp.CHUNK_SACK]


def test_delayed_sack_rfc_rule_without_sack_per_burst() -> None:
    a, b, net = connected(seed=81, delay=0.01)
    b.sack_per_burst = False
    a.send(0, 53, b"one")
    pkt = a.poll_transmit(net.now)
    assert pkt is not None
    b.handle_packet(pkt, net.now)
    # RFC 9260 §6.2: one DATA packet, no SACK yet, the delayed-SACK timer is armed.
    assert b.poll_transmit(net.now) is None
    deadline = b.next_deadline()
    assert deadline is not None and abs(deadline - (net.now + 0.2)) < 1e-9
    b.handle_timeout(deadline)
    sack = b.poll_transmit(deadline)
    assert sack is not None and [c.type for c in sctp.Packet.parse(sack).chunks] == [
        sctp.CHUNK_SACK]
    # The second packet with DATA is SACKed at once.
    for word in (b"two", b"three"):
        a.send(0, 53, word)
        pkt = a.poll_transmit(deadline)
        assert pkt is not None
        b.handle_packet(pkt, deadline)
        if word == b"two":
            assert b.poll_transmit(deadline) is None
    assert _sack_in(b.poll_transmit(deadline))


class SmallWindowSender:
    """A sender like aiortc's: at most ``window`` DATA packets unacknowledged,
    then it waits for a SACK (its cwnd is a few MTUs and it grows only when a
    SACK comes back).  Wraps an Association; the data waits in its queue."""

    def __init__(self, inner: Association, window: int) -> None:
        self.inner = inner
        self.window = window
        self.outstanding = 0

    def poll_transmit(self, now: float | None = None) -> bytes | None:
        if self.outstanding >= self.window:
            return None
        pkt = self.inner.poll_transmit(now)
        if pkt is not None and has_chunk(sctp.CHUNK_DATA)(pkt):
            self.outstanding += 1
        return pkt

    def handle_packet(self, data: bytes, now: float) -> None:
        if has_chunk(sctp.CHUNK_SACK)(data):
            self.outstanding = 0
        self.inner.handle_packet(data, now)

    def handle_timeout(self, now: float) -> None:
        self.inner.handle_timeout(now)

    def next_deadline(self) -> float | None:
        return self.inner.next_deadline()

    def poll_event(self) -> tuple[Any, ...] | None:
        return self.inner.poll_event()


@pytest.mark.parametrize("window", [1, 3])
@pytest.mark.parametrize("per_burst", [True, False])
def test_small_window_sender_is_not_stalled_by_our_sack_delay(window: int,
                                                              per_burst: bool) -> None:
    a, b, net = connected(seed=84, delay=0.01)
    b.sack_per_burst = per_burst
    net.a.ep = SmallWindowSender(a, window)
    count = 60
    for i in range(count):
        a.send(0, 53, bytes([i]) * 1000)  # one message per packet
    start = net.now
    assert net.run(lambda: len(received(net.b)) == count, max_time=60)
    elapsed = net.now - start
    rounds = -(-count // window)
    rtt = 2 * 0.01
    if per_burst:
        # Every window comes back acknowledged one round trip later.
        assert elapsed <= rounds * rtt + 1e-6
    elif window == 1:
        # The RFC's every-second-packet rule leaves the lone packet waiting
        # for the 200 ms timer in every round: what aiortc saw from us.
        assert elapsed >= count * b.delayed_sack_time


def test_throughput_with_delay_is_slow_start_bound() -> None:
    """8 MiB over a 20 ms round trip (no loss, no rate limit): the transfer
    takes as many round trips as slow start needs to double from the initial
    cwnd (RFC 9260 §7.2.1) to the whole transfer, plus one for the last SACK."""
    delay = 0.01
    a, b, net = connected(seed=85, delay=delay)
    total = 8 * MiB
    msg = os.urandom(65536)
    for _ in range(total // len(msg)):
        a.send(0, 53, msg)
    start = net.now
    assert net.run(lambda: len(received(net.b)) == total // len(msg), max_time=60)
    elapsed = net.now - start
    initial_cwnd = min(4 * a.mtu, max(2 * a.mtu, 4380))
    # Window accounting counts the 16-byte chunk header per 1.2 kB chunk.
    wire = total * 1.02
    rounds = math.ceil(math.log2(wire / initial_cwnd + 1))
    assert elapsed <= (rounds + 1) * 2 * delay
    # One SACK per burst: a few per round trip, not one per two packets.
    assert b.stats["sacks_sent"] <= 2 * rounds
    assert received(net.b) == [msg] * (total // len(msg))


def test_throughput_with_delay_is_window_bound() -> None:
    """With a 256 KiB receive window the sender is limited to one window per
    round trip (RFC 9260 §6.1 rule A), and reaches it.  One-chunk messages:
    a message in reassembly holds part of the window (RFC 9260 §6.2)."""
    delay = 0.01
    rwnd = 256 * 1024
    a, b, net = connected(seed=86, assoc={"rwnd": rwnd}, delay=delay)
    total = 8 * MiB
    msg = os.urandom(1024)
    for _ in range(total // len(msg)):
        a.send(0, 53, msg)
    start = net.now
    assert net.run(lambda: len(received(net.b)) == total // len(msg), max_time=60)
    elapsed = net.now - start
    rtt = 2 * delay
    windows = total * 1.02 / rwnd
    # Slow start to the window (a few round trips), then a window per RTT.
    assert elapsed <= (windows + 8) * rtt


def test_window_update_after_the_application_reads() -> None:
    rwnd = 64 * 1024
    a, b, net = connected(seed=87, assoc={"rwnd": rwnd}, delay=0.01)
    net.b.drain = False
    for _ in range(40):
        a.send(0, 53, b"z" * 8192)
    net.run_for(2.0)
    assert b.stats["rwnd"] < a.mtu and a.stats["queued_bytes"] > 0
    # The sender is stalled; reading one message opens the window by more
    # than an MTU: that is announced at once (RFC 9260 §6.2, no SWS).
    ev = b.poll_event()
    assert ev is not None and ev[0] == EVENT_DATA
    sack = _sack_in(b.poll_transmit(net.now))
    assert sack.advertised_rwnd >= 8000
    # With the window open, reading more is not announced message by
    # message: the next update waits for a quarter of the buffer.
    assert b.poll_event() is not None  # 8 KiB: less than a quarter
    assert b.poll_transmit(net.now) is None
    assert b.poll_event() is not None  # 16 KiB: a quarter of 64 KiB
    assert _sack_in(b.poll_transmit(net.now)).advertised_rwnd >= sack.advertised_rwnd + rwnd // 4
    # And the transfer completes once the reader keeps up.
    net.b.drain = True
    assert net.run(lambda: len(received(net.b)) == 40 - 3, max_time=60)


def test_two_data_packets_get_one_sack() -> None:
    a, b, net = connected(seed=82)
    a.send(0, 53, b"x" * 3000)
    pkts = a.poll_transmits(net.now)
    assert len(pkts) == 3
    for p in pkts:
        b.handle_packet(p, net.now)
    sacks = b.poll_transmits(net.now)
    assert len(sacks) == 1
    assert sctp.Packet.parse(sacks[0]).chunks[0].type == sctp.CHUNK_SACK


def test_gap_triggers_immediate_sack_with_gap_blocks() -> None:
    a, b, net = connected(seed=83)
    for i in range(4):
        a.send(0, 53, bytes([i]) * 1000)
    pkts = a.poll_transmits(net.now)
    assert len(pkts) >= 3
    b.handle_packet(pkts[0], net.now)
    b.handle_packet(pkts[2], net.now)  # pkts[1] lost
    sack = sctp.Packet.parse(b.poll_transmit(net.now) or b"").chunks[0]
    assert isinstance(sack, sctp.SackChunk)
    assert sack.gaps == [(2, 2)]
