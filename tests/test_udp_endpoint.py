"""The asyncio UDP endpoint: bursts in, one flush per loop iteration out, the
writable-wait path, exact accounting of a 100k-datagram transfer, close, and
the same under uvloop."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import struct
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from rtcengine import udp
from rtcengine._core.udp import HAVE_GSO, Kind, RecvBatch

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None

LOOP4 = "127.0.0.1"
Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """Run a coroutine on the default asyncio loop, and on uvloop."""
    loop: asyncio.AbstractEventLoop
    if request.param == "uvloop":
        if not HAVE_UVLOOP:
            pytest.skip("uvloop is not installed (pip install uvloop; it is in the test extra)")
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    yield loop.run_until_complete
    loop.close()
    assert not errors, errors


class Sink:
    """An on_burst callback that keeps what it receives."""

    def __init__(self, keep: bool = True) -> None:
        self.calls = 0
        self.count = 0
        self.keep = keep
        self.items: list[tuple[int, bytes, object]] = []
        self.event = asyncio.Event()
        self.want = 0

    def __call__(self, batch: RecvBatch, n: int) -> None:
        self.calls += 1
        self.count += n
        if self.keep:
            self.items += [(batch.kind(i), batch.data(i), batch.addr(i)) for i in range(n)]
        if self.want and self.count >= self.want:
            self.event.set()

    async def wait_for(self, n: int, timeout: float = 5.0) -> None:
        self.want = n
        if self.count < n:
            await asyncio.wait_for(self.event.wait(), timeout)


def rtp(i: int, size: int = 200) -> bytes:
    return (struct.pack("!BBHII", 0x80, 96, i & 0xFFFF, i, 1) + bytes(size))[:size]


def test_burst_in_one_call_per_batch(run: Runner) -> None:
    async def main() -> None:
        sink = Sink()
        a = await udp.open_endpoint((LOOP4, 0), sink)
        b = await udp.open_endpoint((LOOP4, 0), Sink())
        try:
            assert a.rcvbuf >= 1 << 20 and a.sndbuf >= 1 << 20   # 4 MiB asked
            burst = [rtp(i) for i in range(100)]
            for d in burst:
                assert b.sendto(d, a.local_address)
            assert b.queue.pending == 100 - 64        # one immediate flush of a full queue
            await sink.wait_for(100)
            assert [d for _, d, _ in sink.items] == burst
            assert {k for k, _, _ in sink.items} == {Kind.RTP}
            assert {addr for _, _, addr in sink.items} == {b.local_address}
            assert sink.calls <= 4                      # bursts, not datagrams
            s = a.stats()
            assert s["datagrams_in"] == 100 and s["in_rtp"] == 100 and s["kernel_drops"] == 0
            assert b.stats()["datagrams_out"] == 100 and b.stats()["flushes"] == 2
        finally:
            a.close()
            b.close()

    run(main())


def test_one_flush_per_loop_iteration(run: Runner) -> None:
    async def main() -> None:
        sink = Sink()
        a = await udp.open_endpoint((LOOP4, 0), sink)
        b = await udp.open_endpoint((LOOP4, 0), Sink(), send_batch=256)
        try:
            dest = a.local_address
            for round_ in range(3):
                for i in range(50):
                    b.sendto(rtp(i), dest)
                assert b.queue.pending == 50            # nothing sent yet
                await asyncio.sleep(0)                  # one iteration: one flush
                assert b.queue.pending == 0
                assert b.stats()["flushes"] == round_ + 1
            await sink.wait_for(150)
        finally:
            a.close()
            b.close()

    run(main())


def test_reply_and_mixed_kinds(run: Runner) -> None:
    async def main() -> None:
        echo: udp.BatchDatagramEndpoint

        def on_burst(batch: RecvBatch, n: int) -> None:
            for i in range(n):
                if batch.kind(i) == Kind.STUN:          # answer STUN, ignore the rest
                    echo.reply(batch.view(i), batch, i)

        echo = await udp.open_endpoint((LOOP4, 0), on_burst)
        sink = Sink()
        client = await udp.open_endpoint((LOOP4, 0), sink)
        try:
            binding = bytes.fromhex("0001 0000 2112a442") + bytes(12)
            for d in (binding, b"\x10zrtp", rtp(1), b"\xff", binding):
                client.sendto(d, echo.local_address)
            await sink.wait_for(2)
            assert [k for k, _, _ in sink.items] == [Kind.STUN, Kind.STUN]
            s = echo.stats()
            assert s["demux_dropped"] == 2 and s["in_zrtp"] == 1 and s["in_unknown"] == 1
        finally:
            echo.close()
            client.close()

    run(main())


def test_send_waits_for_writable_when_the_kernel_is_full(run: Runner) -> None:
    # A datagram socketpair with a small send buffer blocks the sender (UDP on
    # loopback drops instead): the rest of the queue waits for add_writer.
    async def main() -> None:
        x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        x.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sink = Sink()
        tx = udp.wrap_socket(x, Sink(), send_batch=512)
        rx = udp.wrap_socket(y, sink, batch=8)
        try:
            payloads = [struct.pack("!I", i) * 4 for i in range(300)]
            for d in payloads:
                assert tx.sendto(d, None)
            await asyncio.sleep(0)
            assert tx.queue.pending > 0                 # kernel full: waiting on writable
            await sink.wait_for(300)
            assert [d for _, d, _ in sink.items] == payloads
            assert tx.queue.pending == 0 and tx.stats()["send_errors"] == 0
        finally:
            tx.close()
            rx.close()

    run(main())


def test_hundred_thousand_datagrams_counted_exactly(run: Runner) -> None:
    total, burst, window = 100_000, 64, 1024

    async def main() -> None:
        sink = Sink(keep=False)
        rx = await udp.open_endpoint((LOOP4, 0), sink)
        tx = await udp.open_endpoint((LOOP4, 0), Sink())
        try:
            dest = rx.local_address
            data = rtp(0, 1200)
            sent = 0
            while sent < total:
                # Keep at most `window` datagrams in flight (counting drops).
                while sent - sink.count - rx.stats()["kernel_drops"] >= window:
                    await asyncio.sleep(0)
                n = min(burst, total - sent)
                for _ in range(n):
                    tx.sendto(data, dest)
                sent += n
                await asyncio.sleep(0)
            for _ in range(5000):
                if sink.count + rx.stats()["kernel_drops"] >= total:
                    break
                await asyncio.sleep(0.001)
            s = rx.stats()
            assert tx.stats()["datagrams_out"] == total
            assert sink.count + s["kernel_drops"] == total
            assert s["datagrams_in"] == sink.count and s["in_rtp"] == sink.count
            assert sink.calls < total // 8                 # bursts, not datagrams
        finally:
            rx.close()
            tx.close()

    run(main())


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_close_releases_the_socket(run: Runner) -> None:
    async def main() -> None:
        before = fd_count()
        eps = [await udp.open_endpoint((LOOP4, 0), Sink()) for _ in range(5)]
        assert fd_count() == before + 5
        eps[0].sendto(b"\x80" * 20, (LOOP4, 9))           # queued, flush scheduled
        for ep in eps:
            ep.close()
            ep.close()                                    # idempotent
            assert ep.is_closing()
            assert not ep.sendto(b"x", (LOOP4, 9))
        assert fd_count() == before
        await asyncio.sleep(0.01)                         # the cancelled flush stays quiet

    run(main())


def test_on_burst_errors_are_reported_and_reading_goes_on(run: Runner) -> None:
    loop_errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _l, c: loop_errors.append(c))
        got: list[int] = []

        def on_burst(batch: RecvBatch, n: int) -> None:
            got.append(n)
            if len(got) == 1:
                raise RuntimeError("handler bug")

        a = await udp.open_endpoint((LOOP4, 0), on_burst)
        b = await udp.open_endpoint((LOOP4, 0), Sink())
        try:
            port = a.local_address[1]
            b.sendto(rtp(1), (LOOP4, port))
            for _ in range(200):
                if got:
                    break
                await asyncio.sleep(0.005)
            b.sendto(rtp(2), (LOOP4, port))
            for _ in range(200):
                if len(got) == 2:
                    break
                await asyncio.sleep(0.005)
            assert got == [1, 1] and a.stats()["burst_errors"] == 1
        finally:
            a.close()
            b.close()

    run(main())
    assert len(loop_errors) == 1 and isinstance(loop_errors[0]["exception"], RuntimeError)


def have_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not have_ipv6(), reason="no IPv6 loopback (::1) on this host")
def test_dual_stack_endpoint_talks_to_ipv4_and_ipv6(run: Runner) -> None:
    async def main() -> None:
        sink = Sink()
        ds = await udp.open_endpoint(("::", 0), sink)
        v4 = await udp.open_endpoint((LOOP4, 0), Sink())
        v6 = await udp.open_endpoint(("::1", 0), Sink())
        try:
            port = ds.local_address[1]
            v4.sendto(rtp(4), (LOOP4, port))
            v6.sendto(rtp(6), ("::1", port))
            await sink.wait_for(2)
            addrs = {d[:12]: addr for _, d, addr in sink.items}
            assert addrs[rtp(4)[:12]] == v4.local_address
            assert addrs[rtp(6)[:12]] == ("::1", v6.local_address[1])
        finally:
            ds.close()
            v4.close()
            v6.close()

    run(main())


@pytest.mark.parametrize("gso", [True, False])
def test_gso_bursts_arrive_intact_and_are_counted(run: Runner, gso: bool) -> None:
    # Equal-size runs and mixed sizes to two peers, queued in one loop
    # iteration: with GSO each run is one kernel send (udp(7) UDP_SEGMENT);
    # the receivers see the same datagrams either way.
    async def main() -> None:
        sinks = [Sink(), Sink()]
        rx = [await udp.open_endpoint((LOOP4, 0), s) for s in sinks]
        tx = await udp.open_endpoint((LOOP4, 0), Sink(), gso=gso)
        try:
            sizes = [1200] * 50 + [300, 1200, 1200, 80, 80, 80] + [1400] * 30 + [5]
            want: list[list[bytes]] = [[], []]
            for i, n in enumerate(sizes):
                d = rtp(i, n)
                r = (i // 20) % 2
                want[r].append(d)
                assert tx.sendto(d, rx[r].local_address)
            for r in range(2):
                await sinks[r].wait_for(len(want[r]))
            await asyncio.sleep(0.01)
            for r in range(2):
                assert [d for _, d, _ in sinks[r].items] == want[r]     # once, in order
            s = tx.stats()
            assert s["datagrams_out"] == len(sizes) and s["bytes_out"] == sum(sizes)
            assert s["send_errors"] == 0 and s["gso_disabled"] == 0
            if gso and HAVE_GSO:
                assert s["gso_sends"] > 0 and s["gso_segments"] >= 2 * s["gso_sends"]
                assert tx.queue.gso
            else:
                assert s["gso_sends"] == s["gso_segments"] == 0
        finally:
            for e in rx + [tx]:
                e.close()

    run(main())


def test_gso_refusal_keeps_every_datagram(run: Runner) -> None:
    async def main() -> None:
        sink = Sink()
        rx = await udp.open_endpoint((LOOP4, 0), sink)
        tx = await udp.open_endpoint((LOOP4, 0), Sink())
        tx.queue._fail_gso_with(5)                        # EIO: no checksum offload
        try:
            data = [rtp(i, 1000) for i in range(150)]
            for d in data:
                assert tx.sendto(d, rx.local_address)
            await sink.wait_for(150)
            await asyncio.sleep(0.01)
            assert [d for _, d, _ in sink.items] == data
            s = tx.stats()
            assert s["gso_disabled"] == (1 if HAVE_GSO else 0)
            assert s["datagrams_out"] == 150 and s["send_errors"] == 0 and s["gso_sends"] == 0
        finally:
            rx.close()
            tx.close()

    run(main())
