"""A UDP impairment layer for tests: a relay on 127.0.0.1 between two real peers.

Two peer connections (A and B) never see each other's real address.  Each one is handed
the other's SDP with its ICE candidates rewritten (:meth:`ImpairedLink.rewrite_sdp`) to
point at the relay, and the relay forwards every datagram to the real peer with the
configured impairments: random loss, one-way delay with jitter, reordering, duplication,
a rate cap with a bounded queue, and a blackhole that drops everything.  All of it can be
changed while traffic flows (:meth:`ImpairedLink.set`), every decision comes from one seeded
RNG, delivery runs on asyncio timers, and :attr:`ImpairedLink.stats` counts what happened::

    async with ImpairedLink(Impairment(loss=0.05, delay=0.02, jitter=0.005)) as link:
        offer = link.rewrite_sdp(pc_a.localDescription.sdp, side="a")   # for B
        ...
        link.set(blackhole=True)

The per-packet decisions (:class:`Impairment`) are shared with the virtual-time SCTP
simulator in ``tests/netsim.py``: the same model, real time here and virtual time there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import heapq
import ipaddress
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Self

__all__ = [
    "KEEP",
    "DirectionStats",
    "Fate",
    "ImpairedLink",
    "Impairment",
    "LinkStats",
    "Side",
]

Side = Literal["a", "b"]
Address = tuple[str, int]

# A datagram waits at most this long past its due time: asyncio may run a timer up to its
# clock resolution early, and waking again for a few microseconds is not worth it.
DUE_TOLERANCE = 0.0005
# Requested SO_RCVBUF/SO_SNDBUF of the relay's sockets.
SOCKET_BUFFER = 4 << 20


@dataclass(frozen=True)
class Fate:
    """What happens to one packet: when its copies arrive (none: it is gone), and why."""

    arrivals: tuple[float, ...]
    lost: bool = False  # the loss coin said so
    overflow: bool = False  # the rate-cap queue was full (tail drop)
    duplicated: bool = False
    reordered: int = 0  # copies held back by the reorder coin

    @property
    def dropped(self) -> bool:
        return not self.arrivals


@dataclass
class Impairment:
    """One direction of a path: the per-packet decisions, drawn from the caller's RNG.

    The order of RNG draws is part of the contract (seeded tests depend on it): the loss coin
    (only if ``loss``), the duplicate coin (only if ``duplicate``), then per copy the jitter
    draw (only if ``jitter``) and the reorder coin (only if ``reorder``)."""

    loss: float = 0.0  # probability a packet is lost
    delay: float = 0.0  # one-way delay, seconds
    jitter: float = 0.0  # uniform extra delay in [0, jitter)
    reorder: float = 0.0  # probability a copy is held back by ``reorder_gap``
    reorder_gap: float | None = None  # the hold-back; None: 2 * delay + jitter
    duplicate: float = 0.0  # probability a packet is delivered twice
    rate: float | None = None  # bytes per second (serialisation); None: no cap
    queue_bytes: int | None = None  # backlog at ``rate`` beyond which packets are dropped
    busy_until: float = 0.0  # when the serialiser is free (state, not configuration)

    def validate(self) -> None:
        for name in ("loss", "reorder", "duplicate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability in [0, 1], got {value!r}")
        for name in ("delay", "jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.reorder_gap is not None and self.reorder_gap < 0:
            raise ValueError(f"reorder_gap must be >= 0, got {self.reorder_gap!r}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"rate must be > 0 bytes/s (None: no cap), got {self.rate!r}")
        if self.queue_bytes is not None and self.queue_bytes < 0:
            raise ValueError(f"queue_bytes must be >= 0, got {self.queue_bytes!r}")

    def decide(self, rng: random.Random, now: float, size: int) -> Fate:
        """The fate of one ``size``-byte packet sent at ``now``."""
        start = now
        if self.rate:
            backlog = max(0.0, self.busy_until - now) * self.rate
            if self.queue_bytes is not None and backlog + size > self.queue_bytes:
                return Fate((), overflow=True)
            # Serialisation: the packet leaves once the ones ahead of it (and itself) are out;
            # a packet lost afterwards still used the link.
            start = max(now, self.busy_until) + size / self.rate
            self.busy_until = start
        if self.loss and rng.random() < self.loss:
            return Fate((), lost=True)
        duplicated = bool(self.duplicate and rng.random() < self.duplicate)
        gap = 2 * self.delay + self.jitter if self.reorder_gap is None else self.reorder_gap
        arrivals = []
        reordered = 0
        for _ in range(2 if duplicated else 1):
            t = start + self.delay
            if self.jitter:
                t += rng.random() * self.jitter
            if self.reorder and rng.random() < self.reorder:
                t += gap
                reordered += 1
            arrivals.append(t)
        return Fate(tuple(arrivals), duplicated=duplicated, reordered=reordered)


@dataclass
class DirectionStats:
    """Counters of one direction (a_to_b or b_to_a) of an :class:`ImpairedLink`."""

    received: int = 0  # datagrams that entered the link
    bytes_in: int = 0
    forwarded: int = 0  # datagrams sent on (a duplicate counts twice)
    bytes_out: int = 0
    lost: int = 0  # random loss
    blackholed: int = 0  # dropped while the blackhole was on
    overflowed: int = 0  # rate-cap queue full, or too many datagrams pending
    unroutable: int = 0  # the destination peer's address was not known yet
    duplicated: int = 0  # extra copies made
    delayed: int = 0  # copies held for any time at all
    reordered: int = 0  # copies held back by the reorder coin
    out_of_order: int = 0  # copies delivered after a copy of a later datagram

    @property
    def dropped(self) -> int:
        return self.lost + self.blackholed + self.overflowed + self.unroutable

    def __add__(self, other: DirectionStats) -> DirectionStats:
        return DirectionStats(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )


@dataclass
class LinkStats:
    a_to_b: DirectionStats = field(default_factory=DirectionStats)
    b_to_a: DirectionStats = field(default_factory=DirectionStats)

    @property
    def total(self) -> DirectionStats:
        return self.a_to_b + self.b_to_a


class _Keep(enum.Enum):
    KEEP = 0


KEEP = _Keep.KEEP  # "leave this setting as it is" in :meth:`ImpairedLink.set`


class _Direction:
    """One way through the relay: its impairment, blackhole switch and counters."""

    def __init__(self, impairment: Impairment, stats: DirectionStats) -> None:
        self.impairment = impairment
        self.blackhole = False
        self.stats = stats
        self.next_seq = 0  # input order, to count out-of-order deliveries
        self.highest_delivered = -1


def _grow_buffers(transport: asyncio.DatagramTransport) -> None:
    """Ask for large socket buffers: a burst from a peer must not be dropped by the kernel
    in front of the relay, where no counter sees it (capped at net.core.[rw]mem_max)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        except OSError:
            pass


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, link: ImpairedLink, side: Side) -> None:
        self.link = link
        self.side = side

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.link._received(self.side, data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable after a peer closed: nothing to do, the datagram is gone.
        pass


class ImpairedLink:
    """A UDP relay between peer A and peer B with impairments, as an async context manager.

    The relay has two sockets on ``host``: :attr:`address_for_a` is where A sends (it stands
    for B) and :attr:`address_for_b` is where B sends (it stands for A).  A datagram arriving
    on A's socket goes through the ``a_to_b`` direction and leaves from B's socket towards
    B's real address, so each peer sees traffic from exactly the candidate it was given.
    The real addresses come from the candidates rewritten by :meth:`rewrite_sdp` /
    :meth:`rewrite_candidate` (or the first datagram a peer sends, if it came first)."""

    def __init__(
        self,
        impairment: Impairment | None = None,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        max_pending: int = 10_000,
    ) -> None:
        base = impairment if impairment is not None else Impairment()
        base.validate()
        self.rng = random.Random(seed)
        self.host = host
        self.max_pending = max_pending
        self.stats = LinkStats()
        self._dirs: dict[Side, _Direction] = {
            "a": _Direction(dataclasses.replace(base), self.stats.a_to_b),
            "b": _Direction(dataclasses.replace(base), self.stats.b_to_a),
        }
        self._transports: dict[Side, asyncio.DatagramTransport] = {}
        self._addresses: dict[Side, Address] = {}
        self._real: dict[Side, Address] = {}
        # (due time, tie-break sequence, sending side, input sequence, datagram)
        self._heap: list[tuple[float, int, Side, int, bytes]] = []
        self._tie = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._blackhole_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        try:
            sides: tuple[Side, Side] = ("a", "b")
            for side in sides:
                transport, _ = await self._loop.create_datagram_endpoint(
                    lambda side=side: _Endpoint(self, side),  # type: ignore[misc]
                    local_addr=(self.host, 0),
                )
                self._transports[side] = transport
                _grow_buffers(transport)
                sockname = transport.get_extra_info("sockname")
                self._addresses[side] = (str(sockname[0]), int(sockname[1]))
        except BaseException:
            self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop forwarding and release the sockets; pending datagrams are discarded."""
        for timer in (self._timer, self._blackhole_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._blackhole_timer = None
        self._heap.clear()
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()

    # ------------------------------------------------------------------ addresses

    @property
    def address_for_a(self) -> Address:
        """Where peer A sends to reach B (B's candidate, as A is told it)."""
        return self._addresses["a"]

    @property
    def address_for_b(self) -> Address:
        """Where peer B sends to reach A (A's candidate, as B is told it)."""
        return self._addresses["b"]

    def real_address(self, side: Side) -> Address | None:
        return self._real.get(side)

    def rewrite_candidate(self, candidate: str, side: Side) -> str | None:
        """``side``'s candidate (``candidate:...`` or ``a=candidate:...``) as the other peer
        must see it: pointing at the relay.  Only IPv4 UDP host candidates of component 1
        pass (None for any other); the first one (127.0.0.1 preferred, see
        :meth:`rewrite_sdp`) becomes ``side``'s real address."""
        prefix = "a=" if candidate.startswith("a=") else ""
        body = candidate[len(prefix) :]
        if not body.startswith("candidate:"):
            raise ValueError(f"not an ICE candidate: {candidate!r}")
        fields = body.split()
        # RFC 8839 §5.1: foundation component transport priority address port "typ" type ...
        if len(fields) < 8 or fields[6] != "typ":
            raise ValueError(f"malformed ICE candidate: {candidate!r}")
        if fields[1] != "1" or fields[2].lower() != "udp" or fields[7] != "host":
            return None
        try:
            ip = ipaddress.ip_address(fields[4])
        except ValueError:
            return None  # an mDNS name: the relay cannot forward to it
        if ip.version != 4:
            return None
        real = (str(ip), int(fields[5]))
        known = self._real.setdefault(side, real)
        if known != real:
            return None  # one candidate per peer: the relay forwards to one address
        other: Side = "b" if side == "a" else "a"
        relay_ip, relay_port = self._addresses[other]
        fields[4], fields[5] = relay_ip, str(relay_port)
        return prefix + " ".join(fields)

    def rewrite_sdp(self, sdp: str, side: Side) -> str:
        """``side``'s SDP as the other peer must get it: one candidate, pointing at the relay
        (its ``c=`` and ``m=`` defaults too).  Raises ValueError if no candidate fits."""
        newline = "\r\n" if "\r\n" in sdp else "\n"
        lines = sdp.split(newline)
        candidates = [ln for ln in lines if ln.startswith("a=candidate:")]
        # Prefer loopback: both peers and the relay then stay on 127.0.0.1.
        candidates.sort(key=lambda ln: 0 if " 127.0.0.1 " in ln else 1)
        kept = None
        for line in candidates:
            kept = self.rewrite_candidate(line, side)
            if kept is not None:
                break
        if kept is None:
            raise ValueError(f"no IPv4 UDP host candidate in peer {side}'s SDP to relay")
        other: Side = "b" if side == "a" else "a"
        relay_ip, relay_port = self._addresses[other]
        out = []
        placed = False
        for line in lines:
            if line.startswith("a=candidate:"):
                if not placed:
                    out.append(kept)
                    placed = True
                continue
            if line.startswith("c=IN IP"):
                line = f"c=IN IP4 {relay_ip}"
            elif line.startswith("m="):
                parts = line.split(" ")
                if parts[1] != "0":  # a rejected section keeps port 0
                    parts[1] = str(relay_port)
                line = " ".join(parts)
            out.append(line)
        return newline.join(out)

    # ------------------------------------------------------------------ configuration

    def impairment(self, direction: Literal["a_to_b", "b_to_a"]) -> Impairment:
        """The live impairment of one direction (a copy: change it with :meth:`set`)."""
        return dataclasses.replace(self._dirs["a" if direction == "a_to_b" else "b"].impairment)

    def blackholed(self, direction: Literal["a_to_b", "b_to_a"] = "a_to_b") -> bool:
        return self._dirs["a" if direction == "a_to_b" else "b"].blackhole

    def set(
        self,
        *,
        loss: float | _Keep = KEEP,
        delay: float | _Keep = KEEP,
        jitter: float | _Keep = KEEP,
        reorder: float | _Keep = KEEP,
        reorder_gap: float | None | _Keep = KEEP,
        duplicate: float | _Keep = KEEP,
        rate_bps: float | None | _Keep = KEEP,
        queue_bytes: int | None | _Keep = KEEP,
        blackhole: bool | _Keep = KEEP,
        direction: Literal["both", "a_to_b", "b_to_a"] = "both",
    ) -> None:
        """Change impairments now (for datagrams arriving from now on).  Unnamed settings
        stay; ``rate_bps`` is in bits per second (None: no cap).  Setting ``blackhole``
        cancels a pending :meth:`blackhole_for` end."""
        changes: dict[str, object] = {}
        for name, value in (
            ("loss", loss),
            ("delay", delay),
            ("jitter", jitter),
            ("reorder", reorder),
            ("reorder_gap", reorder_gap),
            ("duplicate", duplicate),
            ("queue_bytes", queue_bytes),
        ):
            if value is not KEEP:
                changes[name] = value
        if rate_bps is not KEEP:
            changes["rate"] = None if rate_bps is None else rate_bps / 8
        for d in self._selected(direction):
            updated = dataclasses.replace(d.impairment, **changes)  # type: ignore[arg-type]
            updated.validate()
            d.impairment = updated
        if blackhole is not KEEP:
            if self._blackhole_timer is not None:
                self._blackhole_timer.cancel()
                self._blackhole_timer = None
            for d in self._selected(direction):
                d.blackhole = blackhole

    def blackhole_for(
        self, seconds: float, direction: Literal["both", "a_to_b", "b_to_a"] = "both"
    ) -> None:
        """Drop everything for ``seconds`` from now, then forward again."""
        self.set(blackhole=True, direction=direction)
        self._blackhole_timer = self._running_loop().call_later(
            seconds, self._end_blackhole, direction
        )

    def _end_blackhole(self, direction: Literal["both", "a_to_b", "b_to_a"]) -> None:
        self._blackhole_timer = None
        for d in self._selected(direction):
            d.blackhole = False

    def _selected(self, direction: Literal["both", "a_to_b", "b_to_a"]) -> Iterator[_Direction]:
        if direction not in ("both", "a_to_b", "b_to_a"):
            raise ValueError(f"direction must be 'both', 'a_to_b' or 'b_to_a': {direction!r}")
        if direction in ("both", "a_to_b"):
            yield self._dirs["a"]
        if direction in ("both", "b_to_a"):
            yield self._dirs["b"]

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("ImpairedLink is not open: use 'async with ImpairedLink(...)'")
        return self._loop

    # ------------------------------------------------------------------ forwarding

    @property
    def pending(self) -> int:
        """Datagrams held in the relay right now."""
        return len(self._heap)

    def _received(self, side: Side, data: bytes, addr: Address) -> None:
        self._real.setdefault(side, addr)
        d = self._dirs[side]
        stats = d.stats
        stats.received += 1
        stats.bytes_in += len(data)
        seq = d.next_seq
        d.next_seq += 1
        if d.blackhole:
            stats.blackholed += 1
            return
        now = self._running_loop().time()
        fate = d.impairment.decide(self.rng, now, len(data))
        if fate.lost:
            stats.lost += 1
            return
        if fate.overflow or len(self._heap) + len(fate.arrivals) > self.max_pending:
            stats.overflowed += 1
            return
        if fate.duplicated:
            stats.duplicated += 1
        stats.reordered += fate.reordered
        for t in fate.arrivals:
            if t > now:
                stats.delayed += 1
            self._tie += 1
            heapq.heappush(self._heap, (t, self._tie, side, seq, data))
        self._pump()

    def _pump(self) -> None:
        """Send every datagram that is due, in (due time, arrival) order; arm the timer."""
        loop = self._running_loop()
        limit = loop.time() + DUE_TOLERANCE
        while self._heap and self._heap[0][0] <= limit:
            _, _, side, seq, data = heapq.heappop(self._heap)
            self._deliver(side, seq, data)
        if not self._heap:
            return
        due = self._heap[0][0]
        if self._timer is not None:
            if self._timer_at <= due:
                return
            self._timer.cancel()
        self._timer = loop.call_at(due, self._fire)
        self._timer_at = due

    def _fire(self) -> None:
        self._timer = None
        self._pump()

    def _deliver(self, side: Side, seq: int, data: bytes) -> None:
        other: Side = "b" if side == "a" else "a"
        d = self._dirs[side]
        stats = d.stats
        destination = self._real.get(other)
        transport = self._transports.get(other)
        if destination is None or transport is None:
            stats.unroutable += 1
            return
        if seq < d.highest_delivered:
            stats.out_of_order += 1
        d.highest_delivered = max(d.highest_delivered, seq)
        stats.forwarded += 1
        stats.bytes_out += len(data)
        transport.sendto(data, destination)
