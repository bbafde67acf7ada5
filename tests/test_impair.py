"""The impairment relay itself (tests/impair.py), between two plain UDP sockets: counters,
ordering, delay, reordering, duplication, the rate cap, blackholes and candidate rewriting.
The peer-connection tests through it are tests/interop/test_impaired_pc.py."""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import pytest

from tests.impair import DirectionStats, ImpairedLink, Impairment

T = TypeVar("T")


def run(fn: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(fn(), timeout)

    return asyncio.run(bounded())


class Peer(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that records (arrival time, datagram)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, bytes]] = []
        self.arrived = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.got.append((asyncio.get_running_loop().time(), data))
        self.arrived.set()

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, to)

    async def send_many(self, packets: list[bytes], to: tuple[str, int]) -> None:
        """Send in small bursts so no socket buffer on loopback overflows."""
        for i, data in enumerate(packets):
            self.send(data, to)
            if i % 32 == 31:
                await asyncio.sleep(0.001)

    def seqs(self) -> list[int]:
        return [struct.unpack("!I", d[:4])[0] for _, d in self.got]

    async def wait_count(self, n: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.got) < n:
                self.arrived.clear()
                await self.arrived.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def peer() -> Peer:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("127.0.0.1", 0)
    )
    return protocol


def packet(seq: int, size: int = 100) -> bytes:
    return struct.pack("!I", seq) + bytes(size - 4)


def candidate_line(ip: str, port: int, transport: str = "udp", typ: str = "host") -> str:
    return f"a=candidate:1 1 {transport} 2130706431 {ip} {port} typ {typ}"


async def wired(link: ImpairedLink) -> tuple[Peer, Peer]:
    """Two sockets whose addresses the relay learnt from their candidates."""
    a, b = await peer(), await peer()
    assert link.rewrite_candidate(candidate_line(*a.address), "a") is not None
    assert link.rewrite_candidate(candidate_line(*b.address), "b") is not None
    return a, b


async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


# --------------------------------------------------------------------- the model


def test_model_draw_order_and_fates_are_seeded() -> None:
    model = Impairment(loss=0.2, delay=0.01, jitter=0.004, reorder=0.1, duplicate=0.1)
    r1, r2 = random.Random(7), random.Random(7)
    first = [model.decide(r1, i * 0.001, 1200) for i in range(100)]
    assert first == [model.decide(r2, i * 0.001, 1200) for i in range(100)]
    rng = random.Random(3)
    fates = [model.decide(rng, 0.0, 1200) for _ in range(20000)]
    lost = sum(f.lost for f in fates) / len(fates)
    dup = sum(f.duplicated for f in fates) / (len(fates) - sum(f.lost for f in fates))
    assert 0.19 < lost < 0.21 and 0.09 < dup < 0.11
    for f in fates:
        for t in f.arrivals:
            # delay + jitter, plus 2 * delay + jitter when held back
            assert 0.01 <= t < 0.014 or 0.034 <= t < 0.038


def test_model_rate_serialises_and_tail_drops() -> None:
    model = Impairment(rate=100_000, queue_bytes=5000)  # 100 kB/s, 5 kB of queue
    rng = random.Random(0)
    fates = [model.decide(rng, 0.0, 1000) for _ in range(10)]
    assert [f.arrivals for f in fates[:5]] == [((i + 1) * 0.01,) for i in range(5)]
    assert all(f.overflow and f.dropped for f in fates[5:])
    # Once the queue drains, packets pass again.
    assert model.decide(rng, 0.05, 1000).arrivals == pytest.approx((0.06,))


def test_model_validates() -> None:
    for bad in ({"loss": 1.5}, {"delay": -1.0}, {"rate": 0.0}, {"reorder_gap": -0.1}):
        with pytest.raises(ValueError):
            Impairment(**bad).validate()  # type: ignore[arg-type]


# --------------------------------------------------------------------- the relay


def test_clean_link_forwards_in_order_both_ways_and_counts() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            a, b = await wired(link)
            await a.send_many([packet(i) for i in range(200)], link.address_for_a)
            await b.send_many([packet(1000 + i, 300) for i in range(200)], link.address_for_b)
            await b.wait_count(200)
            await a.wait_count(200)
            assert b.seqs() == list(range(200))
            assert a.seqs() == list(range(1000, 1200))
            s = link.stats
            assert (s.a_to_b.received, s.a_to_b.forwarded, s.a_to_b.dropped) == (200, 200, 0)
            assert (s.a_to_b.bytes_in, s.b_to_a.bytes_out) == (200 * 100, 200 * 300)
            assert s.total.forwarded == 400 and s.total.out_of_order == 0
            assert s.total.delayed == 0
            a.close()
            b.close()

    run(main)


def test_peers_see_only_the_relay() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            a, b = await wired(link)
            seen: list[tuple[str, int]] = []
            assert b.transport is not None

            def spy(data: bytes, addr: tuple[str | Any, int]) -> None:
                seen.append((str(addr[0]), int(addr[1])))
                Peer.datagram_received(b, data, addr)

            b.datagram_received = spy  # type: ignore[method-assign]
            a.send(packet(0), link.address_for_a)
            await b.wait_count(1)
            # B receives from the address it was given as A's candidate.
            assert seen == [link.address_for_b]
            assert link.real_address("a") == a.address and link.real_address("b") == b.address
            a.close()
            b.close()

    run(main)


def test_loss_matches_the_rate_and_the_counters() -> None:
    async def main() -> None:
        async with ImpairedLink(Impairment(loss=0.1), seed=11) as link:
            a, b = await wired(link)
            n = 3000
            await a.send_many([packet(i) for i in range(n)], link.address_for_a)
            await pause(0.2)
            s = link.stats.a_to_b
            assert s.received == n
            assert s.lost + s.forwarded == n
            assert len(b.got) == s.forwarded
            assert 0.08 < s.lost / n < 0.12
            assert b.seqs() == sorted(b.seqs())  # loss alone never reorders
            a.close()
            b.close()

    run(main)


def test_same_seed_same_losses() -> None:
    async def losses(seed: int) -> list[int]:
        async with ImpairedLink(Impairment(loss=0.3), seed=seed) as link:
            a, b = await wired(link)
            await a.send_many([packet(i) for i in range(300)], link.address_for_a)
            await pause(0.1)
            a.close()
            b.close()
            return sorted(set(range(300)) - set(b.seqs()))

    first = run(lambda: losses(5))
    assert first == run(lambda: losses(5))
    assert first != run(lambda: losses(6))


def test_delay_and_jitter() -> None:
    async def main() -> None:
        async with ImpairedLink(Impairment(delay=0.05, jitter=0.02)) as link:
            a, b = await wired(link)
            loop = asyncio.get_running_loop()
            sent: dict[int, float] = {}
            for i in range(50):
                sent[i] = loop.time()
                a.send(packet(i), link.address_for_a)
                await pause(0.002)
            await b.wait_count(50)
            lags = [t - sent[seq] for (t, _), seq in zip(b.got, b.seqs(), strict=True)]
            assert min(lags) >= 0.049
            assert max(lags) < 0.05 + 0.02 + 0.03  # + scheduling slack
            assert max(lags) - min(lags) > 0.005  # jitter happened
            assert link.stats.a_to_b.delayed == 50
            a.close()
            b.close()

    run(main)


def test_reorder_holds_packets_back_and_counts_it() -> None:
    async def main() -> None:
        link_config = Impairment(delay=0.005, reorder=0.2, reorder_gap=0.03)
        async with ImpairedLink(link_config, seed=2) as link:
            a, b = await wired(link)
            for i in range(300):
                a.send(packet(i), link.address_for_a)
                await pause(0.001)
            await b.wait_count(300)
            s = link.stats.a_to_b
            assert 40 < s.reordered < 80
            assert sorted(b.seqs()) == list(range(300))  # all there, nothing twice
            assert b.seqs() != list(range(300))
            assert s.out_of_order > 0
            a.close()
            b.close()

    run(main)


def test_equal_delays_keep_fifo_order() -> None:
    async def main() -> None:
        async with ImpairedLink(Impairment(delay=0.02)) as link:
            a, b = await wired(link)
            await a.send_many([packet(i) for i in range(500)], link.address_for_a)
            await b.wait_count(500)
            assert b.seqs() == list(range(500))
            assert link.stats.a_to_b.out_of_order == 0
            a.close()
            b.close()

    run(main)


def test_duplicate() -> None:
    async def main() -> None:
        async with ImpairedLink(Impairment(duplicate=0.1), seed=4) as link:
            a, b = await wired(link)
            await a.send_many([packet(i) for i in range(1000)], link.address_for_a)
            await pause(0.2)
            s = link.stats.a_to_b
            assert 70 < s.duplicated < 130
            assert len(b.got) == s.forwarded == 1000 + s.duplicated
            assert sorted(set(b.seqs())) == list(range(1000))
            a.close()
            b.close()

    run(main)


def test_rate_cap_paces_and_tail_drops() -> None:
    async def main() -> None:
        # 800 kbit/s = 100 kB/s; 1000-byte datagrams leave every 10 ms.
        async with ImpairedLink() as link:
            link.set(rate_bps=800_000, queue_bytes=30_000)
            a, b = await wired(link)
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i in range(60):
                a.send(packet(i, 1000), link.address_for_a)
            await pause(0.5)
            s = link.stats.a_to_b
            # 30 kB of queue holds 30 datagrams (one more if one left during the burst);
            # the rest of the burst is dropped.
            assert 30 <= s.forwarded <= 32 and s.overflowed == 60 - s.forwarded
            assert b.seqs()[:30] == list(range(30)) and b.seqs() == sorted(b.seqs())
            elapsed = b.got[-1][0] - start
            assert 0.29 <= elapsed < 0.4
            rate = sum(len(d) for _, d in b.got[1:]) / (b.got[-1][0] - b.got[0][0])
            assert 90_000 < rate < 110_000
            a.close()
            b.close()

    run(main)


def test_blackhole_and_runtime_changes() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            a, b = await wired(link)
            link.set(blackhole=True)
            assert link.blackholed("a_to_b") and link.blackholed("b_to_a")
            for i in range(10):
                a.send(packet(i), link.address_for_a)
                b.send(packet(i), link.address_for_b)
            await pause(0.05)
            assert not a.got and not b.got
            assert link.stats.total.blackholed == 20
            link.set(blackhole=False)
            link.set(loss=1.0, direction="b_to_a")
            a.send(packet(10), link.address_for_a)
            b.send(packet(10), link.address_for_b)
            await b.wait_count(1)
            await pause(0.05)
            assert b.seqs() == [10] and not a.got
            assert link.stats.b_to_a.lost == 1
            assert link.impairment("b_to_a").loss == 1.0
            assert link.impairment("a_to_b").loss == 0.0
            a.close()
            b.close()

    run(main)


def test_blackhole_for_ends_by_itself() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            a, b = await wired(link)
            link.blackhole_for(0.1)
            a.send(packet(0), link.address_for_a)
            await pause(0.15)
            assert not link.blackholed()
            a.send(packet(1), link.address_for_a)
            await b.wait_count(1)
            assert b.seqs() == [1]
            assert link.stats.a_to_b.blackholed == 1
            a.close()
            b.close()

    run(main)


def test_pending_is_bounded() -> None:
    async def main() -> None:
        async with ImpairedLink(Impairment(delay=0.05), max_pending=100) as link:
            a, b = await wired(link)
            await a.send_many([packet(i) for i in range(150)], link.address_for_a)
            await pause(0.01)
            assert link.pending == 100
            await b.wait_count(100)
            assert link.stats.a_to_b.overflowed == 50
            a.close()
            b.close()

    run(main)


def test_unknown_destination_is_counted() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            a = await peer()
            a.send(packet(0), link.address_for_a)
            await pause(0.05)
            assert link.stats.a_to_b.unroutable == 1
            # A's address was learnt from its first datagram.
            assert link.real_address("a") == a.address
            a.close()

    run(main)


def test_set_rejects_bad_values_and_closed_link() -> None:
    link = ImpairedLink()
    with pytest.raises(ValueError, match="loss"):
        link.set(loss=2.0)
    with pytest.raises(ValueError, match="direction"):
        link.set(loss=0.1, direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not open"):
        link.blackhole_for(1.0)


def test_stats_add_up() -> None:
    x = DirectionStats(received=3, lost=1)
    y = DirectionStats(received=4, blackholed=2)
    assert (x + y).received == 7 and (x + y).dropped == 3


# --------------------------------------------------------------------- SDP rewriting

SDP = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "m=application 41000 DTLS/SCTP 5000",
        "c=IN IP4 192.0.2.2",
        "a=mid:0",
        "a=candidate:1 1 udp 2130706431 192.0.2.2 41000 typ host",
        "a=candidate:2 1 udp 2130706431 fd00::2 41001 typ host",
        "a=candidate:3 1 udp 2130706175 127.0.0.1 41002 typ host generation 0",
        "a=candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        "a=candidate:5 1 udp 1694498815 203.0.113.9 5000 typ srflx raddr 0.0.0.0 rport 0",
        "a=candidate:6 1 udp 2130706431 0a1b.local 41003 typ host",
        "a=end-of-candidates",
        "a=sctp-port:5000",
        "",
    ]
)


def test_rewrite_sdp_keeps_one_candidate_pointing_at_the_relay() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            out = link.rewrite_sdp(SDP, "a")
            ip, port = link.address_for_b  # B sends there to reach A
            candidates = [ln for ln in out.split("\r\n") if ln.startswith("a=candidate:")]
            assert candidates == [
                f"a=candidate:3 1 udp 2130706175 {ip} {port} typ host generation 0"
            ]
            assert f"m=application {port} DTLS/SCTP 5000" in out
            assert f"c=IN IP4 {ip}" in out
            assert "a=end-of-candidates" in out and out.endswith("\r\n")
            assert link.real_address("a") == ("127.0.0.1", 41002)
            # Without a loopback candidate, the first IPv4 UDP host candidate is used.
            link2 = ImpairedLink()
            async with link2:
                no_lo = SDP.replace("127.0.0.1 41002", "198.51.100.1 41002")
                link2.rewrite_sdp(no_lo, "b")
                assert link2.real_address("b") == ("192.0.2.2", 41000)
            with pytest.raises(ValueError, match="no IPv4 UDP host candidate"):
                link.rewrite_sdp(SDP.replace("a=candidate", "a=x-candidate"), "b")

    run(main)


def test_rewrite_trickled_candidates() -> None:
    async def main() -> None:
        async with ImpairedLink() as link:
            ip, port = link.address_for_a  # A sends there to reach B
            first = link.rewrite_candidate("candidate:9 1 udp 100 127.0.0.1 5555 typ host", "b")
            assert first == f"candidate:9 1 udp 100 {ip} {port} typ host"
            # One address per peer: a second host candidate of B is filtered out.
            assert (
                link.rewrite_candidate("candidate:9 1 udp 99 127.0.0.1 5556 typ host", "b") is None
            )
            assert (
                link.rewrite_candidate("candidate:9 2 udp 99 127.0.0.1 5557 typ host", "b") is None
            )
            with pytest.raises(ValueError, match="not an ICE candidate"):
                link.rewrite_candidate("a=mid:0", "b")
            with pytest.raises(ValueError, match="malformed"):
                link.rewrite_candidate("candidate:1 1 udp", "b")

    run(main)
