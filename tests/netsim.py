"""A virtual-time network between two sans-IO endpoints.

Two endpoints (anything with ``poll_transmit()``, ``handle_packet(data, now)``,
``handle_timeout(now)``, ``next_deadline()`` and ``poll_event()``; the SCTP
``Association`` here) are joined by two one-way :class:`Link` objects with
loss, delay, jitter, reordering, duplication and a rate limit, all drawn from
one seeded RNG (the decisions are :class:`tests.impair.Impairment`'s, shared
with the real-socket relay there), plus targeted drops ("drop the next COOKIE ECHO", "drop the
DATA chunk with TSN n").  Time only moves when nothing is left to do now:
``run()`` jumps to the next packet arrival or timer deadline, so a test of
minutes of protocol time runs in milliseconds and never sleeps.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rtcengine._core import sctp
from tests.impair import Impairment


class Endpoint(Protocol):
    def poll_transmit(self, now: float | None = None) -> bytes | None: ...
    def handle_packet(self, data: bytes, now: float) -> None: ...
    def handle_timeout(self, now: float) -> None: ...
    def next_deadline(self) -> float | None: ...
    def poll_event(self) -> tuple[Any, ...] | None: ...


Predicate = Callable[[bytes], bool]


def chunk_types(packet: bytes) -> list[int]:
    """The chunk types of a packet (no CRC check; for drop rules)."""
    try:
        return [c.type for c in sctp.Packet.parse(packet, verify_checksum=False).chunks]
    except ValueError:
        return []


def has_chunk(chunk_type: int) -> Predicate:
    return lambda pkt: chunk_type in chunk_types(pkt)


def data_tsns(packet: bytes) -> list[int]:
    try:
        chunks = sctp.Packet.parse(packet, verify_checksum=False).chunks
    except ValueError:
        return []
    return [c.tsn for c in chunks if isinstance(c, sctp.DataChunk)]


def has_tsn(tsn: int) -> Predicate:
    return lambda pkt: tsn in data_tsns(pkt)


@dataclass
class DropRule:
    predicate: Predicate
    count: int  # how many matching packets to drop (-1: all)
    dropped: int = 0


@dataclass
class Link(Impairment):
    """One direction of the path: the shared impairment model (``tests/impair.py``, also
    used by the real-socket relay) plus targeted drop rules and counters."""

    delay: float = 0.010  # one-way delay, seconds (the model's default is 0)
    rules: list[DropRule] = field(default_factory=list)
    sent: int = 0
    lost: int = 0
    bytes: int = 0

    def drop(self, predicate: Predicate, count: int = 1) -> DropRule:
        rule = DropRule(predicate, count)
        self.rules.append(rule)
        return rule

    def schedule(self, rng: random.Random, now: float, size: int) -> list[float]:
        """Arrival times of one packet sent at ``now`` (empty: lost)."""
        self.sent += 1
        self.bytes += size
        fate = self.decide(rng, now, size)
        if fate.dropped:
            self.lost += 1
        return list(fate.arrivals)


class Side:
    def __init__(self, ep: Endpoint, link: Link, drain: bool = True) -> None:
        self.ep = ep
        self.link = link  # outgoing
        self.drain = drain
        self.events: list[tuple[Any, ...]] = []
        self.on_event: Callable[[tuple[Any, ...]], None] | None = None
        # Called instead of draining poll_event() (e.g. a channel manager).
        self.poller: Callable[[], None] | None = None


class Network:
    """Two endpoints and the links between them, in virtual time."""

    def __init__(self, a: Endpoint, b: Endpoint, *, seed: int = 1, now: float = 0.0,
                 **link: Any) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.a = Side(a, Link(**link))
        self.b = Side(b, Link(**link))
        self._heap: list[tuple[float, int, int, bytes]] = []
        self._seq = 0
        self.packets_delivered = 0

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.a, self.b

    def _flush(self) -> bool:
        moved = False
        for idx, side in enumerate(self.sides):
            while True:
                pkt = side.ep.poll_transmit(self.now)
                if pkt is None:
                    break
                moved = True
                if any(self._matches(r, pkt) for r in side.link.rules):
                    continue
                for t in side.link.schedule(self.rng, self.now, len(pkt)):
                    self._seq += 1
                    heapq.heappush(self._heap, (t, self._seq, 1 - idx, pkt))
        return moved

    @staticmethod
    def _matches(rule: DropRule, pkt: bytes) -> bool:
        if rule.count == 0 or not rule.predicate(pkt):
            return False
        rule.dropped += 1
        if rule.count > 0:
            rule.count -= 1
        return True

    def _events(self) -> None:
        for side in self.sides:
            if side.poller is not None:
                side.poller()
                continue
            if not side.drain:
                continue
            while True:
                ev = side.ep.poll_event()
                if ev is None:
                    break
                side.events.append(ev)
                if side.on_event is not None:
                    side.on_event(ev)

    def settle(self) -> None:
        """Exchange everything due now (no time passes)."""
        for _ in range(100000):
            self._events()
            moved = self._flush()
            self._events()
            if not moved:
                return
        raise RuntimeError("endpoints keep transmitting at one instant")

    def next_time(self) -> float | None:
        times = [d for d in (s.ep.next_deadline() for s in self.sides) if d is not None]
        if self._heap:
            times.append(self._heap[0][0])
        return min(times) if times else None

    def step(self) -> bool:
        """Advance to the next arrival/deadline and process it; False if idle."""
        self.settle()
        t = self.next_time()
        if t is None:
            return False
        self.now = max(self.now, t)
        while self._heap and self._heap[0][0] <= self.now:
            _, _, dst, pkt = heapq.heappop(self._heap)
            self.packets_delivered += 1
            self.sides[dst].ep.handle_packet(pkt, self.now)
        for side in self.sides:
            d = side.ep.next_deadline()
            if d is not None and d <= self.now:
                side.ep.handle_timeout(self.now)
        self.settle()
        return True

    def run(self, until: Callable[[], bool] | None = None, *, max_time: float = 600.0,
            max_steps: int = 2_000_000) -> bool:
        """Run until ``until()`` is true (True), or idle/limits (False)."""
        deadline = self.now + max_time
        for _ in range(max_steps):
            self.settle()
            if until is not None and until():
                return True
            t = self.next_time()
            if t is None or t > deadline:
                return until is None
            self.step()
        return False

    def run_for(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            self.settle()
            t = self.next_time()
            if t is None or t > end:
                break
            self.step()
        self.now = max(self.now, end)
        self.settle()
