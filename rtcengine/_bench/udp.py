"""UDP loopback, 1200 B datagrams, one process: our batched endpoint through
the asyncio loop versus a plain asyncio ``DatagramProtocol`` pair and versus a
blocking ``sendto``/``recv`` loop, all in the same run.

Every workload moves ``n`` datagrams from one socket to another on 127.0.0.1
and counts them on arrival.  The two asyncio workloads use the same driver: a
window of datagrams in flight, refilled from the receive callback by as many
as arrived (so the sender never overruns the receiver and nothing is dropped;
both pairs get the same 4 MiB socket buffers).  ``benchmarks/udp_loopback.py``
prints datagrams/s and the ratios; the cases here feed ``rtcengine bench``.
"""

from __future__ import annotations

import asyncio
import atexit
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from rtcengine._bench import Case
from rtcengine._core import udp as core
from rtcengine.udp import BatchDatagramEndpoint, RecvBatch, open_endpoint

SIZE = 1200
LOOP4 = "127.0.0.1"
BUFFER = 4 * 1024 * 1024
# Datagrams in flight (under 4 MiB of kernel buffer at ~2.3 KiB truesize each).
WINDOW = 256
# Datagrams per benchmark call (one "op" of the cases).
PER_CALL = 2048


def payload(size: int = SIZE) -> bytes:
    # An RTP-looking datagram (RFC 7983: first byte 128..191) so the demux says RTP.
    return (struct.pack("!BBHII", 0x80, 96, 1, 2, 3) + bytes(size))[:size]


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


class _Stall(RuntimeError):
    pass


class _Transfer:
    """Window-driven transfer state shared by both asyncio workloads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.total = 0
        self.sent = 0
        self.received = 0
        self.done: asyncio.Future[None] | None = None

    def start(self, n: int) -> asyncio.Future[None]:
        self.total, self.sent, self.received = n, 0, 0
        self.done = self.loop.create_future()
        return self.done

    def arrived(self, k: int) -> int:
        """Count ``k`` arrivals; return how many to send now to refill the window."""
        self.received += k
        if self.received >= self.total and self.done is not None and not self.done.done():
            self.done.set_result(None)
        more = min(k, self.total - self.sent)
        self.sent += more
        return more

    def first(self) -> int:
        more = min(WINDOW, self.total)
        self.sent = more
        return more


async def _wait(done: asyncio.Future[None], t: _Transfer) -> None:
    try:
        await asyncio.wait_for(done, timeout=10 + t.total / 20_000)
    except TimeoutError:
        raise _Stall(f"UDP transfer stalled at {t.received}/{t.total} (datagrams dropped?)") \
            from None


class EndpointPair:
    """Our two BatchDatagramEndpoints on one loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int = SIZE,
                 gso: bool = True) -> None:
        self.loop = loop
        self.data = payload(size)
        self.t = _Transfer(loop)
        self.rx: BatchDatagramEndpoint = loop.run_until_complete(
            open_endpoint((LOOP4, 0), self._on_burst, loop=loop, rcvbuf=BUFFER, sndbuf=BUFFER))
        self.tx: BatchDatagramEndpoint = loop.run_until_complete(
            open_endpoint((LOOP4, 0), lambda b, n: None, loop=loop, rcvbuf=BUFFER,
                          sndbuf=BUFFER, send_batch=WINDOW, gso=gso))
        self.dest = self.rx.local_address

    def _on_burst(self, batch: RecvBatch, n: int) -> None:
        more = self.t.arrived(n)
        send, data, dest = self.tx.sendto, self.data, self.dest
        for _ in range(more):
            send(data, dest)

    async def _run(self, n: int) -> None:
        done = self.t.start(n)
        send, data, dest = self.tx.sendto, self.data, self.dest
        for _ in range(self.t.first()):
            send(data, dest)
        await _wait(done, self.t)

    def transfer(self, n: int = PER_CALL) -> None:
        self.loop.run_until_complete(self._run(n))

    def close(self) -> None:
        self.rx.close()
        self.tx.close()


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Any], None] | None = None) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.on_datagram is not None:
            self.on_datagram(data, addr)


class ProtocolPair:
    """The baseline: two plain asyncio DatagramProtocol endpoints on one loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int = SIZE) -> None:
        self.loop = loop
        self.data = payload(size)
        self.t = _Transfer(loop)
        self.rx, _ = loop.run_until_complete(loop.create_datagram_endpoint(
            lambda: _Proto(self._on_datagram), local_addr=(LOOP4, 0)))
        self.tx, _ = loop.run_until_complete(loop.create_datagram_endpoint(
            lambda: _Proto(), local_addr=(LOOP4, 0)))
        for tr in (self.rx, self.tx):   # the same kernel buffers as ours
            sock = tr.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
        self.dest = self.rx.get_extra_info("sockname")

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        if self.t.arrived(1):
            self.tx.sendto(self.data, self.dest)

    async def _run(self, n: int) -> None:
        done = self.t.start(n)
        send, data, dest = self.tx.sendto, self.data, self.dest
        for _ in range(self.t.first()):
            send(data, dest)
        await _wait(done, self.t)

    def transfer(self, n: int = PER_CALL) -> None:
        self.loop.run_until_complete(self._run(n))

    def close(self) -> None:
        self.rx.close()
        self.tx.close()
        self.loop.run_until_complete(asyncio.sleep(0))


class BlockingPair:
    """Blocking sockets: sendto then recv, one datagram at a time."""

    def __init__(self, size: int = SIZE) -> None:
        self.data = payload(size)
        self.a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.a.bind((LOOP4, 0))
        self.b.bind((LOOP4, 0))
        self.dest = self.b.getsockname()

    def transfer(self, n: int = PER_CALL) -> None:
        send, recv, data, dest = self.a.sendto, self.b.recv, self.data, self.dest
        for _ in range(n):
            send(data, dest)
            recv(2048)

    def close(self) -> None:
        self.a.close()
        self.b.close()


class CorePair:
    """Our C batch calls without an event loop: the ceiling of (a)."""

    def __init__(self, size: int = SIZE, batch: int = 64, gso: bool = True) -> None:
        self.data = payload(size)
        self.a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.a, self.b):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
            s.bind((LOOP4, 0))
            s.setblocking(False)
        self.dest = self.b.getsockname()
        self.q = core.SendQueue(batch, gso=gso)
        self.batch = core.RecvBatch(batch)

    def transfer(self, n: int = PER_CALL) -> None:
        q, batch, data, dest = self.q, self.batch, self.data, self.dest
        fa, fb = self.a.fileno(), self.b.fileno()
        queue, flush, recv = q.queue, q.flush, core.recv_batch
        got = 0
        while got < n:
            k = min(q.capacity, n - got)
            for _ in range(k):
                queue(data, dest)
            flush(fa)
            want = got + k
            while got < want:
                got += recv(fb, batch)

    def close(self) -> None:
        self.a.close()
        self.b.close()


class _Lazy:
    """Make the rigs on the first timed call (not at import or collection)."""

    def __init__(self, loop_kind: str) -> None:
        self.loop_kind = loop_kind
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ours: EndpointPair | None = None
        self.plain: ProtocolPair | None = None
        self.block: BlockingPair | None = None

    def _setup(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            self.loop = loop_factory(self.loop_kind)()
            atexit.register(self.close)
        return self.loop

    def run_ours(self) -> None:
        if self.ours is None:
            self.ours = EndpointPair(self._setup())
        self.ours.transfer()

    def run_plain(self) -> None:
        if self.plain is None:
            self.plain = ProtocolPair(self._setup())
        self.plain.transfer()

    def run_blocking(self) -> None:
        if self.block is None:
            self.block = BlockingPair()
        self.block.transfer()

    def close(self) -> None:
        for rig in (self.ours, self.plain, self.block):
            if rig is not None:
                rig.close()
        if self.loop is not None and not self.loop.is_closed():
            self.loop.close()


def cases() -> list[Case]:
    per_op = f"{SIZE} B datagrams"
    out: list[Case] = []
    kinds = ["asyncio"]
    try:
        import uvloop  # noqa: F401

        kinds.append("uvloop")
    except ImportError:
        pass
    for kind in kinds:
        rig = _Lazy(kind)
        out.append(Case(
            name=f"UDP loopback through the {kind} loop, {per_op}",
            ours=rig.run_ours,
            baseline=rig.run_plain,
            baseline_name=f"{kind} DatagramProtocol",
            ops_per_call=PER_CALL,
            baseline_ops_per_call=PER_CALL,
            bytes_per_op=SIZE,
            target_ratio=4.0,
        ))
    rig = _Lazy("asyncio")
    out.append(Case(
        name=f"UDP loopback, our endpoint (asyncio loop) vs blocking sendto+recv, {per_op}",
        ours=rig.run_ours,
        baseline=rig.run_blocking,
        baseline_name="blocking socket",
        ops_per_call=PER_CALL,
        baseline_ops_per_call=PER_CALL,
        bytes_per_op=SIZE,
    ))
    core_pair: list[CorePair] = []

    def run_core() -> None:
        if not core_pair:
            core_pair.append(CorePair())
            atexit.register(core_pair[0].close)
        core_pair[0].transfer()

    out.append(Case(
        name=f"UDP loopback, recv_batch/SendQueue.flush without a loop, {per_op}",
        ours=run_core,
        ops_per_call=PER_CALL,
        bytes_per_op=SIZE,
        note="the C batch calls alone: the ceiling of the endpoint",
    ))
    return out


def rate(fn: Callable[[int], None], n: int) -> float:
    """Datagrams/s of one ``fn(n)`` transfer."""
    t0 = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - t0)
