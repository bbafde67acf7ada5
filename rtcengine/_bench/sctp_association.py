"""SCTP association in memory (no sockets, no DTLS): rtcengine's sans-IO
``Association`` pair against two aiortc ``RTCSctpTransport`` joined by a fake
DTLS transport, moving the same messages.

Each call moves one batch of messages from A to B and returns when B has them
all (ours: packets handed across in bursts, one ``poll_events()`` per burst;
aiortc: its coroutines run on an event loop with packets passed through
``_handle_data``).  Bulk: 64 KiB messages; rate: 100-byte messages; each
reliable ordered and unordered with ``maxRetransmits=0``.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from rtcengine._bench import Case
from rtcengine._core.sctp_association import EVENT_DATA, Association

PPID_BINARY = 53  # RFC 8831 §8


# ---------------------------------------------------------------- ours


class OursPair:
    """Two connected associations and a pump that moves packets in bursts."""

    def __init__(self) -> None:
        self.now = 0.0
        self.a = Association(5000, 5000, True)
        self.b = Association(5000, 5000, False)
        self.a.remote_max_message_size = self.b.remote_max_message_size = 262144
        self.a.connect(self.now)
        self.received = 0
        self.received_bytes = 0
        self._pump()
        assert self.a.is_established and self.b.is_established

    def _pump(self) -> bool:
        a, b, now = self.a, self.b, self.now
        moved = False
        while True:
            pkts = a.poll_transmits(now)
            for p in pkts:
                b.handle_packet(p, now)
            for ev in b.poll_events():
                if ev[0] == EVENT_DATA:
                    self.received += 1
            back = b.poll_transmits(now)
            for p in back:
                a.handle_packet(p, now)
            a.poll_events()
            if not pkts and not back:
                return moved
            moved = True

    def transfer(self, msgs: list[bytes], ordered: bool = True,
                 max_retransmits: int | None = None) -> int:
        target = self.received + len(msgs)
        send = self.a.send
        for m in msgs:
            send(1, PPID_BINARY, m, ordered=ordered, max_retransmits=max_retransmits)
        while self.received < target:
            if not self._pump():
                # Only a timer can move things on (never in a lossless pipe).
                self.now += 1.0
                self.a.handle_timeout(self.now)
                self.b.handle_timeout(self.now)
        return self.received


# ---------------------------------------------------------------- aiortc


class _FakeDtls:
    """What RTCSctpTransport needs from an RTCDtlsTransport, in memory."""

    def __init__(self, role: str, inbox: deque[tuple[Any, bytes]]) -> None:
        self._role = role
        self.state = "connected"
        self.receiver: Any = None
        self.peer: _FakeDtls | None = None
        self._inbox = inbox

    def _register_data_receiver(self, receiver: Any) -> None:
        self.receiver = receiver

    def _unregister_data_receiver(self, receiver: Any) -> None:
        self.receiver = None

    async def _send_data(self, data: bytes) -> None:
        assert self.peer is not None
        self._inbox.append((self.peer, data))


class AiortcPair:
    """Two aiortc RTCSctpTransport instances joined in memory."""

    def __init__(self) -> None:
        from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.inbox: deque[tuple[Any, bytes]] = deque()
        da = _FakeDtls("client", self.inbox)
        db = _FakeDtls("server", self.inbox)
        da.peer, db.peer = db, da
        self.a = RTCSctpTransport(da)  # type: ignore[arg-type]
        self.b = RTCSctpTransport(db)  # type: ignore[arg-type]
        self.received = 0
        self.sleeps = 0

        async def _receive(stream_id: int, pp_id: int, data: bytes) -> None:
            self.received += 1

        self.b._receive = _receive  # type: ignore[method-assign]
        caps = RTCSctpCapabilities(maxMessageSize=262144)

        async def start() -> None:
            await self.a.start(caps, 5000)
            await self.b.start(caps, 5000)
            await self._pump()

        self.loop.run_until_complete(start())
        assert self.a._association_state == self.a.State.ESTABLISHED

    async def _pump(self) -> None:
        while self.inbox:
            dtls, data = self.inbox.popleft()
            if dtls.receiver is not None:
                await dtls.receiver._handle_data(data)
            await asyncio.sleep(0)

    def transfer(self, msgs: list[bytes], ordered: bool = True,
                 max_retransmits: int | None = None) -> int:
        async def run() -> None:
            target = self.received + len(msgs)
            for m in msgs:
                await self.a._send(1, PPID_BINARY, m, max_retransmits=max_retransmits,
                                   ordered=ordered)
            idle = 0
            while self.received < target:
                before = self.received
                await self._pump()
                # Let aiortc's own tasks run; sleep only if truly stuck.
                await asyncio.sleep(0)
                idle = idle + 1 if self.received == before and not self.inbox else 0
                if idle > 100:
                    self.sleeps += 1
                    await asyncio.sleep(0.001)

        self.loop.run_until_complete(run())
        return self.received

    def close(self) -> None:
        async def stop() -> None:
            await self.a.stop()
            await self.b.stop()

        self.loop.run_until_complete(stop())
        self.loop.close()


def have_aiortc() -> bool:
    try:
        import aiortc.rtcsctptransport  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- workloads

WORKLOADS: list[tuple[str, int, int, bool, int | None]] = [
    # name, message size, messages per call, ordered, max_retransmits
    ("bulk 64 KiB, reliable ordered", 65536, 16, True, None),
    ("bulk 64 KiB, unordered maxRetransmits=0", 65536, 16, False, 0),
    ("100 B messages, reliable ordered", 100, 2000, True, None),
    ("100 B messages, unordered maxRetransmits=0", 100, 2000, False, 0),
]


def make_transfer(pair: Any, size: int, count: int, ordered: bool,
                  max_retransmits: int | None) -> Callable[[], object]:
    msgs = [os.urandom(size) for _ in range(count)]

    def run() -> object:
        return pair.transfer(msgs, ordered, max_retransmits)

    return run


def cases() -> list[Case]:
    ours = OursPair()
    base = AiortcPair() if have_aiortc() else None
    out = []
    for name, size, count, ordered, rtx in WORKLOADS:
        out.append(Case(
            name=f"SCTP association in memory: {name}",
            ours=make_transfer(ours, size, count, ordered, rtx),
            baseline=make_transfer(base, size, count, ordered, rtx) if base else None,
            baseline_name="aiortc RTCSctpTransport (in memory)",
            ops_per_call=count,
            baseline_ops_per_call=count,
            bytes_per_op=size,
            target_ratio=10,
            note="send + SACK round trips + receive, no sockets",
        ))
    return out
